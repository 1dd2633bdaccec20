#!/usr/bin/env bash
# The reduced-precision paths on the CPU (--dtype bf16, and f16w: f16 packed decoder weights with f32 activations)
# against f32, on the same prompts and seeds:
#  - greedy-token agreement: share of generated codes that are equal, per prompt and overall;
#  - FAD on EnCodec embeddings between f32 and reduced-precision clips (sampled, same seeds), beside the FAD between two f32 sets
#    of other seeds, which is the scale to read it against.
#   scripts/reduced-precision.sh [model] [work-dir]   (default: the golden musicgen_50hz, target/reduced-precision)
set -euo pipefail
cd "$(dirname "$0")/.."
model="${1:-${MUSICGEN_TI_GOLDEN:-../shared/golden}/musicgen_50hz}"
work="${2:-target/reduced-precision}"
rm -rf "$work" && mkdir -p "$work"
printf '%s\n' "calm piano" "fast drums" "warm strings and a slow bass" "lo-fi hip hop" "ambient pads" \
  "a bright synth lead" "jazz trio" "solo cello" > "$work/prompts.txt"
run() { ./musicgen-ti generate --model "$model" --prompts-file "$work/prompts.txt" --duration 4 "$@" >/dev/null 2>>"$work/log"; }
reduced=(bf16 f16w)
for dtype in f32 "${reduced[@]}"; do
  run --dtype "$dtype" --greedy --save-codes --out "$work/greedy-$dtype/"
  run --dtype "$dtype" --seed 7 --batch 4 --out "$work/sampled-$dtype/"
done
run --dtype f32 --seed 8 --batch 4 --out "$work/sampled-f32-seed8/"
for dtype in "${reduced[@]}"; do
python3 - "$work" "$dtype" <<'PY'
import json, os, struct, sys
work, dtype = sys.argv[1], sys.argv[2]
def codes(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        meta = header["codes"]
        f.seek(8 + n + meta["data_offsets"][0])
        size = {"I16": 2, "I32": 4, "I64": 8}[meta["dtype"]]
        raw = f.read(meta["data_offsets"][1] - meta["data_offsets"][0])
        fmt = {"I16": "h", "I32": "i", "I64": "q"}[meta["dtype"]]
        return struct.unpack("<%d%s" % (len(raw) // size, fmt), raw)
same = total = 0
for name in sorted(os.listdir(os.path.join(work, "greedy-f32"))):
    if not name.endswith(".codes.safetensors"):
        continue
    a, b = codes(os.path.join(work, "greedy-f32", name)), codes(os.path.join(work, f"greedy-{dtype}", name))
    s = sum(x == y for x, y in zip(a, b))
    same, total = same + s, total + len(a)
    print(f"{dtype}: greedy codes equal to f32, {name[:-18]}: {s}/{len(a)} ({100 * s / len(a):.0f}%)")
print(f"{dtype}: greedy codes equal to f32, all prompts: {same}/{total} ({100 * same / total:.1f}%)")
PY
done
fad() { ./musicgen-ti fad --embedding encodec --codec "$model" --cache "$work/cache" "$1" "$2" 2>>"$work/log" | grep -i "fad" | head -1; }
for dtype in "${reduced[@]}"; do
  echo "FAD (EnCodec embeddings), f32 vs $dtype, same seeds:        $(fad "$work/sampled-f32" "$work/sampled-$dtype")"
done
echo "FAD (EnCodec embeddings), f32 seed 7 vs f32 seed 8 (scale): $(fad "$work/sampled-f32" "$work/sampled-f32-seed8")"
