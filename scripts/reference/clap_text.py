"""Reference outputs for the CLAP text tower, from Hugging Face transformers itself.

The shared golden set (../shared/golden) holds the tiny CLAP model's text-tower weights but no text outputs. This
script runs transformers' ClapModel on those same weights and writes what the Java port must reproduce:

    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install torch transformers safetensors numpy
    /tmp/ref/bin/python scripts/reference/clap_text.py ../shared/golden native/src/test/resources/reference/clap_text

It first checks that this transformers version reproduces the golden audio outputs (made with 4.43.4), so the
text outputs written here come from an equivalent reference. It writes:
  io.safetensors        input_ids/attention_mask (random ids, padded), last_hidden_state, pooler_output,
                        text_projected (before normalisation), text_embeds, logits_per_text against the golden
                        audio_embeds, logit_scale_t
  tokenizer.json        a small byte-level BPE tokenizer in RoBERTa's layout (the real checkpoints ship one)
  tokenizer_cases.json  texts and the ids RobertaTokenizerFast gives them (padding=True)
"""
import json
import os
import sys

import numpy as np
import torch
import transformers
from safetensors.torch import load_file, save_file
from tokenizers import ByteLevelBPETokenizer
from transformers import ClapConfig, ClapModel, RobertaTokenizerFast

golden, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
torch.set_num_threads(1)
torch.manual_seed(0)

case = os.path.join(golden, "clap_audio")
model = ClapModel(ClapConfig.from_pretrained(case)).eval()
missing, unexpected = model.load_state_dict(load_file(os.path.join(case, "weights.safetensors")), strict=False)
missing = [k for k in missing if not k.endswith(("position_ids", "token_type_ids"))]
assert not missing and not unexpected, (missing, unexpected)

io = load_file(os.path.join(case, "io.safetensors"))
with torch.no_grad():
    audio = model.get_audio_features(input_features=io["input_features"], is_longer=io["is_longer"].bool())
    audio_embeds = audio.pooler_output if hasattr(audio, "pooler_output") else audio
    drift = (audio_embeds - io["audio_embeds"]).abs().max().item()
    print("golden audio_embeds reproduced, max diff", drift)
    assert drift < 1e-5, "this transformers version does not reproduce the golden audio outputs"

    # Three texts of different lengths: ids drawn from the tiny vocabulary between the specials, framed by
    # <s> ... </s> and right-padded with <pad> as the tokenizer's padding=True does.
    cfg = model.config.text_config
    bos, pad, eos = cfg.bos_token_id, cfg.pad_token_id, cfg.eos_token_id
    lengths = [9, 4, 14]
    width = max(lengths) + 2
    ids = torch.full((len(lengths), width), pad, dtype=torch.long)
    mask = torch.zeros((len(lengths), width), dtype=torch.long)
    g = torch.Generator().manual_seed(1234)
    for b, n in enumerate(lengths):
        body = torch.randint(3, cfg.vocab_size, (n,), generator=g)
        ids[b, : n + 2] = torch.cat([torch.tensor([bos]), body, torch.tensor([eos])])
        mask[b, : n + 2] = 1

    text = model.text_model(input_ids=ids, attention_mask=mask)
    projected = model.text_projection(text.pooler_output)
    embeds = torch.nn.functional.normalize(projected, dim=-1)
    via_api = model.get_text_features(input_ids=ids, attention_mask=mask)
    via_api = via_api.pooler_output if hasattr(via_api, "pooler_output") else via_api
    assert torch.allclose(via_api, embeds), "get_text_features disagrees with the tower + projection"
    scale_t = model.logit_scale_t.exp()
    logits_per_text = embeds @ io["audio_embeds"].t() * scale_t

save_file({
    "input_ids": ids.contiguous(),
    "attention_mask": mask.contiguous(),
    "last_hidden_state": text.last_hidden_state.contiguous(),
    "pooler_output": text.pooler_output.contiguous(),
    "text_projected": projected.contiguous(),
    "text_embeds": embeds.contiguous(),
    "logit_scale_t": scale_t.reshape(1).contiguous(),
    "logits_per_text": logits_per_text.contiguous(),
}, os.path.join(out, "io.safetensors"), metadata={"transformers": transformers.__version__, "torch": torch.__version__})

# A byte-level BPE in RoBERTa's layout (<s>=0 <pad>=1 </s>=2 <unk>=3 <mask> last), trained on a few lines so the
# merges are real; the Java side must give the ids RobertaTokenizerFast gives.
corpus = [
    "a slow ballad with warm piano and soft strings",
    "8-bit chiptune lead over a driving bass line",
    "lo-fi hip hop beat, vinyl crackle, mellow keys",
    "synthwave with gated reverb drums and bright arpeggios",
    "an acoustic guitar fingerpicking in a quiet room",
] * 20
bpe = ByteLevelBPETokenizer()
bpe.train_from_iterator(corpus, vocab_size=400, min_frequency=2,
                        special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
tok = RobertaTokenizerFast(tokenizer_object=bpe._tokenizer, bos_token="<s>", eos_token="</s>", sep_token="</s>",
                           cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>")
tok.save_pretrained(out + "/tok")
os.replace(out + "/tok/tokenizer.json", out + "/tokenizer.json")
for f in os.listdir(out + "/tok"):
    os.remove(os.path.join(out + "/tok", f))
os.rmdir(out + "/tok")

texts = ["a slow ballad with warm piano", "8-bit chiptune", "", "Synthwave  with UNSEEN wörds, ünïcode & émojis 🎹!",
         " leading space", "the sound of <8bit> music"]
batch = tok(texts, padding=True)
json.dump({"texts": texts, "input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"],
           "transformers": transformers.__version__}, open(os.path.join(out, "tokenizer_cases.json"), "w"), indent=1)
print("wrote", out)
