#!/usr/bin/env bash
# One pass over the GPU path (issue 9) in under 8 minutes on a fresh NVIDIA machine: the -Pcuda build, the golden
# cases on CUDA in f32 (stated tolerances) and bf16 (README, "Proof: golden tests"), then bench for the small and
# medium shapes and a training step of batch 10 x 5 s. Every part is time-boxed; a summary table comes last.
#
#   scripts/gpu-check.sh                 # needs a visible NVIDIA GPU
#   scripts/gpu-check.sh --cpu-dry-run   # the same flow on the CPU with the tiny golden model and few steps
#
# Results (gpu-check.log, *.json, summary.txt) go to $OUT when set, else target/gpu-check.
# The golden folder is $MUSICGEN_TI_GOLDEN, else ../shared/golden, else shared/golden inside the checkout.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

dry=0
case "${1:-}" in
  --cpu-dry-run) dry=1 ;;
  "") ;;
  *) echo "usage: scripts/gpu-check.sh [--cpu-dry-run]" >&2; exit 2 ;;
esac
out=${OUT:-target/gpu-check}
mkdir -p "$out"
log=$out/gpu-check.log
: >"$log"

if [ $dry = 0 ] && ! nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
  echo "gpu-check: no NVIDIA GPU visible (nvidia-smi lists none); run with --cpu-dry-run to test the script without one" >&2
  exit 1
fi
for g in "${MUSICGEN_TI_GOLDEN:-}" ../shared/golden shared/golden; do
  if [ -n "$g" ] && [ -f "$g/cases.json" ]; then export MUSICGEN_TI_GOLDEN=$(cd "$g" && pwd); break; fi
done
[ -n "${MUSICGEN_TI_GOLDEN:-}" ] || { echo "gpu-check: no golden folder (set MUSICGEN_TI_GOLDEN, or copy it to shared/golden)" >&2; exit 1; }

if [ $dry = 1 ]; then
  device=cpu profile=() shapes=("$MUSICGEN_TI_GOLDEN/musicgen_50hz/config.json")
  steps=(--steps 5 --warmup 1) train=(--batch 2 --window 50 --train-steps 1)
else
  device=cuda profile=(-Pcuda) shapes=(small medium)
  steps=() train=(--batch 10 --window 250)
fi

rows=()
# part NAME SECONDS COMMAND...: runs it time-boxed, its output into the log, and records a summary row
part() {
  local name=$1 limit=$2 start=$SECONDS rc
  shift 2
  echo "=== $name: $*" >>"$log"
  timeout "$limit" "$@" >>"$log" 2>&1
  rc=$?
  local status=ok
  [ $rc = 124 ] && status="TIMEOUT ${limit}s"
  [ $rc != 0 ] && [ $rc != 124 ] && status="FAIL rc $rc"
  rows+=("$(printf '%-22s %-14s %4ss' "$name" "$status" $((SECONDS - start)))")
  echo "gpu-check: $name: $status" >&2
  return $rc
}

golden=(./mvnw "${profile[@]}" -q -B test -pl native -Dtest=GoldenTest -Dsurefire.failIfNoSpecifiedTests=false
  -Dmusicgen.test.device=$device)
# the limits add up to 7 min 50 s
part build 170 ./mvnw "${profile[@]}" -q -B -DskipTests install || { tail -20 "$log" >&2; exit 1; }
part golden-f32 60 "${golden[@]}" -Dmusicgen.test.dtype=f32
part golden-bf16 60 "${golden[@]}" -Dmusicgen.test.dtype=bf16
for s in "${shapes[@]}"; do
  name=$(basename "$s" .json)
  part "bench-$name" 45 ./musicgen-ti bench --device $device --shape "$s" "${steps[@]}" --json "$out/$name.json"
  part "train-$name" 45 ./musicgen-ti bench train --device $device --shape "$s" "${train[@]}" --json "$out/train-$name.json"
done

{
  echo "gpu-check on $device, $(date -u +%F)"
  printf '%s\n' "${rows[@]}"
  for f in "$out"/*.json; do
    [ -f "$f" ] || continue
    python3 - "$f" <<'EOF' || cat "$f"
import json, sys
j = json.load(open(sys.argv[1]))
keys = ["device", "dtype", "decode_ms_per_step", "train_s_per_step", "encode_x_realtime", "peak_rss_bytes", "peak_gpu_bytes"]
print(f"{sys.argv[1].rsplit('/', 1)[-1]:<22} " + "  ".join(f"{k}={j[k]}" for k in keys if j.get(k) is not None))
EOF
  done
} | tee "$out/summary.txt"
! grep -q 'FAIL\|TIMEOUT' "$out/summary.txt"
