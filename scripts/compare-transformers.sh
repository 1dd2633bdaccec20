#!/usr/bin/env bash
# musicgen-ti side by side with Hugging Face transformers on pip PyTorch: one run, one machine, CPU, f32, both on
# random weights of the facebook/musicgen-small shape saved by transformers' save_pretrained. Prints a table of the
# figures and their ratios (ours / peer; below 1 is better for times and memory, above 1 for encoding speed).
#   scripts/compare-transformers.sh [work-dir]     (default target/compare; the venv and model are kept there)
# Run it on an otherwise idle machine: both sides use every core.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mkdir -p "${1:-target/compare}" && cd "${1:-target/compare}" && pwd)"
venv="${PEER_VENV:-$work/venv}"
py="$venv/bin/python"
prompt="lo-fi hip hop with warm piano"

if [ ! -x "$py" ] || ! "$py" -c "import torch, transformers, soundfile" 2>/dev/null; then
  echo "peer: creating $venv (torch, transformers, soundfile from pip's configured index)" >&2
  python3 -m venv "$venv"
  "$py" -m pip install -q torch transformers soundfile numpy
fi
model="$work/musicgen-small-random"
if [ ! -f "$model/model.safetensors" ]; then
  echo "peer: saving a random musicgen-small-shaped model to $model" >&2
  "$py" scripts/compare_transformers.py make-model "$model"
fi
./musicgen-ti -V >/dev/null   # builds the launcher first, so no build time is measured
ours=(./musicgen-ti)   # the launcher as users run it, with its malloc settings (README, "Build choices")

# Every process below finds the model's files out of the page cache and reads them first: how the first reader faulted
# them in decides the kernel's page-cache folios, and our decode, which reads the weights in place, ran up to twice as
# slow on a mapping left by another reader (README, "Side by side with Hugging Face transformers").
cold() { "$py" scripts/compare_transformers.py evict "$model"; "$@"; }
echo "peer: decode, training step, encode (one process, the encode last)" >&2
cold "$py" scripts/compare_transformers.py bench "$model" "$work/peer-bench.json" 2>>"$work/peer.log"
# A process that only encodes, as a Python script preparing a dataset would: the peer's encode in the process above
# reuses heap memory its training step left behind, and alone it pays a page fault on every fresh activation.
echo "peer: encode alone in a fresh process" >&2
cold "$py" scripts/compare_transformers.py bench "$model" "$work/peer-bench-encode.json" encode 2>>"$work/peer.log"
echo "musicgen-ti: decode, training step, encode (one process each, as generate, train and prepare run)" >&2
for part in generate train encode; do
  cold "${ours[@]}" bench "$part" --model "$model" --json "$work/ours-bench-$part.json" >>"$work/ours.log" 2>&1
done
# the malloc settings our launcher gave its encode, read from its JSON, so the table shows what they alone are worth
tunables="$("$py" -c 'import json, sys; print(json.load(open(sys.argv[1]))["glibc_tunables"])' "$work/ours-bench-encode.json")"
echo "peer: encode alone again, with our launcher's GLIBC_TUNABLES=$tunables" >&2
GLIBC_TUNABLES="$tunables" cold "$py" scripts/compare_transformers.py bench "$model" "$work/peer-bench-tuned.json" encode \
  2>>"$work/peer.log"
echo "musicgen-ti: decode and training step in bf16 (the opt-in reduced-precision path; one process each)" >&2
for part in generate train; do
  cold "${ours[@]}" bench "$part" --model "$model" --dtype bf16 --json "$work/ours-bf16-$part.json" >>"$work/ours.log" 2>&1
done
echo "musicgen-ti: decode with f16 packed weights and f32 activations (--dtype f16w)" >&2
cold "${ours[@]}" bench generate --model "$model" --dtype f16w --json "$work/ours-f16w.json" >>"$work/ours.log" 2>&1

echo "both: generate 5 s end to end in a fresh process" >&2
cold "$py" scripts/compare_transformers.py rss "$py" scripts/compare_transformers.py generate "$model" "$prompt" 5 "$work/peer.wav" \
  2>>"$work/peer.log" | tail -1 > "$work/peer-generate.json"
cold "$py" scripts/compare_transformers.py rss "${ours[@]}" generate --model "$model" --prompt "$prompt" --duration 5 --seed 1 \
  --out "$work/ours.wav" 2>>"$work/ours.log" | tail -1 > "$work/ours-generate.json"
cold "$py" scripts/compare_transformers.py rss "${ours[@]}" generate --model "$model" --prompt "$prompt" --duration 5 --seed 1 \
  --dtype f16w --out "$work/ours-f16w.wav" 2>>"$work/ours.log" | tail -1 > "$work/ours-generate-f16w.json"

echo "musicgen-ti: prepare a 60 s clip" >&2
"$py" scripts/compare_transformers.py clip "$work/clips/tone/clip.wav" 60
rm -rf "$work/dataset"
cold "$py" scripts/compare_transformers.py rss "${ours[@]}" prepare --model "$model" --dataset "$work/dataset" "$work/clips" \
  2>>"$work/ours.log" | tail -1 > "$work/ours-prepare.json"

"$py" scripts/compare_transformers.py table "$work"
