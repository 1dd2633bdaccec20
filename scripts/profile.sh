#!/usr/bin/env bash
# Where the time goes, on both sides, for the three parts that scripts/compare-transformers.sh times: guided decoding,
# one textual-inversion step and one EnCodec encode, on the same random musicgen-small-shaped model.
#   scripts/profile.sh [work-dir]      (default target/compare; reuses the venv and model compare-transformers.sh made)
# Peer: torch.profiler's per-op table (self CPU time and call counts), files peer-<part>.txt.
# Ours: the JavaCPP presets of libtorch 2.10 do not expose libtorch's profiler (no enableProfiler/disableProfiler), so
# the native side is sampled with Linux perf (ours-<part>.txt: share of samples per library and function, which names
# the ATen kernel or BLAS routine), and the Java side with JFR (ours-<part>-java.txt: the hottest Java frames, which
# shows how much of a step is spent in Java at all). Needs `perf` (Debian: linux-perf) and an idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mkdir -p "${1:-target/compare}" && cd "${1:-target/compare}" && pwd)"
py="${PEER_VENV:-$work/venv}/bin/python"
model="$work/musicgen-small-random"
if [ ! -x "$py" ] || [ ! -f "$model/model.safetensors" ]; then
  echo "profile: run scripts/compare-transformers.sh first (it makes the venv and the model in $work)" >&2
  exit 2
fi
command -v perf >/dev/null || { echo "profile: needs Linux perf (Debian: apt-get install linux-perf)" >&2; exit 2; }
./musicgen-ti -V >/dev/null
out="$work/profile"
mkdir -p "$out"
set +o pipefail   # the summaries below cut long listings with head

echo "peer: torch.profiler over decode, training step, encode" >&2
"$py" scripts/compare_transformers.py profile "$model" "$out" 2>>"$work/peer.log"

for part in generate train encode; do
  echo "musicgen-ti: perf + JFR over bench $part" >&2
  # through the launcher (it execs java in place), so with the settings users get
  MUSICGEN_TI_JAVA_OPTS="-XX:StartFlightRecording=filename=$out/ours-$part.jfr,settings=profile" \
    perf record -q -F 499 -o "$out/ours-$part.perf" -- ./musicgen-ti bench "$part" --model "$model" >>"$work/ours.log" 2>&1
  {
    echo "musicgen-ti bench $part: perf samples by library and function (load included; top 30)"
    perf report -i "$out/ours-$part.perf" --no-children --sort dso,sym --stdio 2>/dev/null \
      | grep -v '^#' | grep -v '^$' | head -30
    echo
    echo "by library:"
    perf report -i "$out/ours-$part.perf" --no-children --sort dso --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -10
  } > "$out/ours-$part.txt"
  {
    echo "musicgen-ti bench $part: JFR execution samples, top Java frames (native frames are listed as the Java method that called them)"
    jfr print --events jdk.ExecutionSample,jdk.NativeMethodSample "$out/ours-$part.jfr" \
      | awk '/stackTrace = \[/{getline; sub(/^[ \t]+/, ""); sub(/line:.*/, ""); print}' | sort | uniq -c | sort -rn | head -20
  } > "$out/ours-$part-java.txt"
done
head -40 "$out"/peer-train.txt "$out"/ours-train.txt
echo "all tables: $out" >&2
