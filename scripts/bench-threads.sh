#!/usr/bin/env bash
# Decode speed under the CPU settings that the README's benchmark table compares (musicgen-small shape, random weights).
set -euo pipefail
cd "$(dirname "$0")/.."
steps="${1:-20}"
cores="$(nproc)"
bench() { ./musicgen-ti bench generate --steps "$steps" "$@" | grep '^decode'; }
echo "OpenBLAS $cores threads + libtorch $cores threads:"; OPENBLAS_NUM_THREADS="$cores" bench --threads "$cores"
echo "OpenBLAS 1 thread + libtorch 1 thread:";             OPENBLAS_NUM_THREADS=1 bench --threads 1
echo "GEMM for every projection (defaults otherwise):";    MUSICGEN_TI_JAVA_OPTS=-Dmusicgen.cpu.gemvMaxRows=0 bench
echo "defaults (libtorch 1 thread, OpenBLAS all cores, GEMV for <= 4 rows):"; bench
