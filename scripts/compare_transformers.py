#!/usr/bin/env python3
"""The peer side of scripts/compare-transformers.sh: Hugging Face transformers on pip PyTorch, CPU, f32.

  make-model DIR             a random musicgen-small-shaped MusicgenForConditionalGeneration, saved with
                             save_pretrained, plus the golden folder's T5 tokenizer files
  bench DIR OUT.json [PARTS]  decode ms/step with guidance, one textual-inversion step, EnCodec encode speed
                             (PARTS: a comma-separated subset of decode,train,encode)
  profile DIR OUT_DIR        torch.profiler per-op tables of the same three parts (peer-decode/train/encode.txt)
  generate DIR PROMPT S WAV  what a user runs: load, tokenize, generate S seconds with guidance, write a WAV
  rss CMD...                 runs CMD and prints its wall time and peak resident memory as JSON on the last line
  clip WAV SECONDS           a 44.1 kHz stereo test clip (a modulated tone with noise) for prepare
  table DIR                  the side-by-side table from the JSON files compare-transformers.sh left in DIR

Each figure is measured the way a transformers user gets it (generate(), autograd, default thread settings).
"""
import json
import os
import resource
import shutil
import subprocess
import sys
import time


def shape_config():
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "java", "src", "main", "resources", "shapes", "musicgen-small.json")) as f:
        return json.load(f)


def make_model(out):
    import torch
    from transformers import EncodecConfig, MusicgenConfig, MusicgenDecoderConfig, MusicgenForConditionalGeneration, T5Config

    shape = shape_config()
    drop = lambda d: {k: v for k, v in d.items() if k != "model_type"}
    config = MusicgenConfig(text_encoder=T5Config(**drop(shape["text_encoder"])).to_dict(),
                            audio_encoder=EncodecConfig(**drop(shape["audio_encoder"])).to_dict(),
                            decoder=MusicgenDecoderConfig(**drop(shape["decoder"])).to_dict())
    torch.manual_seed(0)
    model = MusicgenForConditionalGeneration(config).eval()
    model.generation_config.do_sample = True
    model.generation_config.top_k = 250
    model.generation_config.guidance_scale = 3.0
    model.generation_config.max_length = 1500
    model.save_pretrained(out)
    golden = os.environ.get("MUSICGEN_TI_GOLDEN", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "golden"))
    for name in ("tokenizer.json", "spiece.model", "tokenizer_config.json", "special_tokens_map.json"):
        src = os.path.join(golden, "musicgen_50hz", name)
        if os.path.exists(src):
            shutil.copy(src, os.path.join(out, name))


class Parts:
    """The three measured parts, built once: a guided decode of n steps, one textual-inversion step, one encode."""

    def __init__(self, folder, tokens=10, text_tokens=12, window=250, clip_seconds=10.0):
        import torch
        from transformers import MusicgenForConditionalGeneration

        torch.manual_seed(0)
        self.torch = torch
        self.model = model = MusicgenForConditionalGeneration.from_pretrained(folder).eval()
        for p in model.parameters():
            p.requires_grad_(False)
        self.ids = torch.randint(2, model.config.text_encoder.vocab_size, (1, text_tokens))
        self.mask = torch.ones_like(self.ids)
        # the textual-inversion step: learned rows spliced into T5's input embeddings, teacher-forced codebook CE over
        # a delayed window, backward into the rows only, Adam
        k, vocab = model.config.decoder.num_codebooks, model.config.decoder.vocab_size
        self.k, self.vocab, self.window, self.text_tokens, self.tokens = k, vocab, window, text_tokens, tokens
        self.learned = torch.nn.Parameter(torch.randn(tokens, model.config.text_encoder.d_model) * 0.01)
        self.opt = torch.optim.Adam([self.learned], lr=0.1)
        self.prompt = torch.randint(2, model.config.text_encoder.vocab_size, (1, text_tokens + tokens))
        self.pmask = torch.ones_like(self.prompt)
        self.codes = torch.randint(0, vocab, (1, k, window))
        self.delayed = torch.full((1, k, window + 1), vocab, dtype=torch.long)  # special token at 0 and in the delay
        for q in range(k):
            self.delayed[0, q, 1 + q:window + 1] = self.codes[0, q, :window - q]
        self.clip_seconds = clip_seconds
        self.clip = torch.randn(1, 1, int(clip_seconds * model.config.audio_encoder.sampling_rate)) * 0.1

    def decode(self, n):
        with self.torch.no_grad():
            self.model.generate(input_ids=self.ids, attention_mask=self.mask, max_new_tokens=n, do_sample=True,
                                top_k=250, guidance_scale=3.0)

    def ti_step(self):
        model, t = self.model, self.text_tokens
        emb = model.text_encoder.get_input_embeddings()(self.prompt)
        emb = self.torch.cat([emb[:, :t // 2], self.learned.unsqueeze(0), emb[:, t // 2 + self.tokens:]], dim=1)
        enc = model.text_encoder(inputs_embeds=emb, attention_mask=self.pmask).last_hidden_state
        states = model.enc_to_dec_proj(enc)
        logits = model.decoder(input_ids=self.delayed.reshape(self.k, self.window + 1), encoder_hidden_states=states,
                               encoder_attention_mask=self.pmask).logits.reshape(1, self.k, self.window + 1, self.vocab)
        loss = self.torch.nn.functional.cross_entropy(logits[0, :, :self.window].reshape(-1, self.vocab),
                                                      self.codes.reshape(-1))
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return loss.item()

    def encode(self):
        with self.torch.no_grad():
            self.model.audio_encoder.encode(self.clip)


def timed(f, *args):
    t0 = time.perf_counter()
    f(*args)
    return time.perf_counter() - t0


def bench(folder, out_json, parts_csv="decode,train,encode", steps=50):
    import torch
    import transformers

    wanted = parts_csv.split(",")
    parts = Parts(folder)
    result = {"threads": torch.get_num_threads(), "torch": torch.__version__, "transformers": transformers.__version__,
              "glibc_tunables": os.environ.get("GLIBC_TUNABLES", "")}
    if "decode" in wanted:
        # the difference between two generate() lengths leaves per-step time only (no T5, no warm-up, no audio decode)
        parts.decode(8)
        short = min(timed(parts.decode, 8) for _ in range(2))
        long_ = min(timed(parts.decode, 8 + steps) for _ in range(2))
        result["decode_ms_per_step"] = 1000 * (long_ - short) / steps
    if "train" in wanted:
        parts.ti_step()
        result["train_s_per_step"] = min(timed(parts.ti_step) for _ in range(2))
    if "encode" in wanted:
        parts.encode()
        result["encode_x_realtime"] = parts.clip_seconds / min(timed(parts.encode) for _ in range(2))
    result["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    with open(out_json, "w") as f:
        json.dump(result, f, indent=1)


def profile(folder, out_dir, steps=20):
    """torch.profiler's per-op table (self CPU time, calls) of a decode step, a training step and an encode."""
    from torch.profiler import ProfilerActivity, profile as torch_profile

    parts = Parts(folder)
    os.makedirs(out_dir, exist_ok=True)
    runs = {"decode": (lambda: parts.decode(8 + steps), lambda: parts.decode(8), steps),
            "train": (parts.ti_step, None, 1), "encode": (parts.encode, None, 1)}
    for name, (run, base, per) in runs.items():
        run()  # warm-up outside the trace
        with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
            run()
        events = prof.key_averages()
        with open(os.path.join(out_dir, f"peer-{name}.txt"), "w") as f:
            note = f" (a generate() of 8 + {steps} tokens; divide by {steps} for one step, roughly)" if per > 1 else ""
            f.write(f"peer {name}: torch.profiler, self CPU time per op{note}\n")
            f.write(f"native op calls: {sum(e.count for e in events if e.key.startswith('aten::'))} aten calls\n")
            f.write(events.table(sort_by="self_cpu_time_total", row_limit=25) + "\n")


def generate(folder, prompt, seconds, wav):
    import numpy as np
    import soundfile
    import torch
    from transformers import AutoTokenizer, MusicgenForConditionalGeneration

    model = MusicgenForConditionalGeneration.from_pretrained(folder).eval()
    tok = AutoTokenizer.from_pretrained(folder)
    inputs = tok([prompt], return_tensors="pt", padding=True)
    frames = int(seconds * model.config.audio_encoder.frame_rate)
    with torch.no_grad():
        audio = model.generate(**inputs, max_new_tokens=frames, do_sample=True, top_k=250, guidance_scale=3.0)
    soundfile.write(wav, audio[0, 0].numpy().astype(np.float32), model.config.audio_encoder.sampling_rate)


def rss(cmd):
    t0 = time.perf_counter()
    code = subprocess.run(cmd).returncode
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    print(json.dumps({"rc": code, "wall_s": wall, "peak_rss_bytes": peak}))
    return code


def clip(path, seconds):
    import numpy as np
    import soundfile
    rate = 44100
    t = np.arange(int(seconds * rate)) / rate
    x = 0.2 * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * 0.5 * t))
    x = x + 0.02 * np.random.default_rng(0).standard_normal(len(t))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    soundfile.write(path, np.stack([x, 0.9 * x], 1).astype(np.float32), rate, subtype="PCM_16")


def evict(folder):
    """Drops the model files from the page cache (no root needed), so that the next process reads them first, as a
    user's first run does: how the first reader faulted them in decides the kernel's page-cache folios, and our decode,
    which reads the weights in place, ran up to twice as slow on a mapping left by another reader (README, "Side by
    side with Hugging Face transformers")."""
    for name in os.listdir(folder):
        fd = os.open(os.path.join(folder, name), os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def table(work):
    load = lambda name: json.load(open(os.path.join(work, name)))
    peer = load("peer-bench.json")
    # one process per part, as the launcher runs generate, train and prepare (each with its own malloc settings)
    ours = {k: v for part in ("generate", "train", "encode") for k, v in load(f"ours-bench-{part}.json").items()}
    pg, og, op = load("peer-generate.json"), load("ours-generate.json"), load("ours-prepare.json")
    og16 = load("ours-generate-f16w.json")
    bf16 = {k: v for part in ("generate", "train") for k, v in load(f"ours-bf16-{part}.json").items()}
    f16w = load("ours-f16w.json")
    peer_alone, peer_tuned = load("peer-bench-encode.json"), load("peer-bench-tuned.json")
    gb = lambda b: b / 1e9
    rows = [
        ("decode with guidance, batch 1 (ms/step)", peer["decode_ms_per_step"], ours["decode_ms_per_step"], "{:.1f}"),
        ("decode, ours in bf16 (--dtype bf16) against the peer in f32 (ms/step)", peer["decode_ms_per_step"],
         bf16["decode_ms_per_step"], "{:.1f}"),
        ("decode, ours with f16 packed weights (--dtype f16w) against the peer in f32 (ms/step)",
         peer["decode_ms_per_step"], f16w["decode_ms_per_step"], "{:.1f}"),
        ("textual-inversion step, 1 x 250 frames (s)", peer["train_s_per_step"], ours["train_s_per_step"], "{:.2f}"),
        ("textual-inversion step, ours in bf16 (--dtype bf16) against the peer in f32 (s)", peer["train_s_per_step"],
         bf16["train_s_per_step"], "{:.2f}"),
        ("EnCodec encode, 10 s clip, each side in a process that only encodes (x real time)",
         peer_alone["encode_x_realtime"], ours["encode_x_realtime"], "{:.1f}"),
        ("the same, the peer also with our launcher's GLIBC_TUNABLES (x real time)", peer_tuned["encode_x_realtime"],
         ours["encode_x_realtime"], "{:.1f}"),
        ("the peer's encode after its decode and training step in one process (x real time)",
         peer["encode_x_realtime"], ours["encode_x_realtime"], "{:.1f}"),
        ("generate 5 s end to end, load included (wall s)", pg["wall_s"], og["wall_s"], "{:.1f}"),
        ("peak resident memory of that generate (GB)", gb(pg["peak_rss_bytes"]), gb(og["peak_rss_bytes"]), "{:.2f}"),
        ("the same generate, ours with --dtype f16w (wall s)", pg["wall_s"], og16["wall_s"], "{:.1f}"),
        ("its peak resident memory (GB)", gb(pg["peak_rss_bytes"]), gb(og16["peak_rss_bytes"]), "{:.2f}"),
        ("peak resident memory of prepare, 60 s clip (GB)", None, gb(op["peak_rss_bytes"]), "{:.2f}"),
    ]
    import platform, time as _time
    print(f"{_time.strftime('%Y-%m-%d')}, {ours['cpu']}, {os.cpu_count()} cores; peer: transformers {peer['transformers']}"
          f" on torch {peer['torch']} ({peer['threads']} threads); musicgen-ti on {ours['device']}/{ours['dtype']}"
          f" ({ours['threads']} cores); random weights of the facebook/musicgen-small shape")
    print()
    print("| figure | peer (transformers) | musicgen-ti | ours/peer |")
    print("|---|---|---|---|")
    for name, p, o, fmt in rows:
        ratio = "" if p is None else f"{o / p:.2f}"
        print(f"| {name} | {'-' if p is None else fmt.format(p)} | {fmt.format(o)} | {ratio} |")


if __name__ == "__main__":
    verb, args = sys.argv[1], sys.argv[2:]
    if verb == "make-model":
        make_model(*args)
    elif verb == "bench":
        bench(*args)
    elif verb == "profile":
        profile(*args)
    elif verb == "generate":
        generate(args[0], args[1], float(args[2]), args[3])
    elif verb == "rss":
        sys.exit(rss(args))
    elif verb == "clip":
        clip(args[0], float(args[1]))
    elif verb == "evict":
        evict(*args)
    elif verb == "table":
        table(args[0])
    else:
        sys.exit(__doc__)
