"""The RoBERTa-layout tokenizer test data, from Hugging Face transformers itself.

CLAP checkpoints ship a byte-level BPE tokenizer in RoBERTa's layout. This script trains a small one and records the
ids RobertaTokenizerFast gives a few awkward texts, for native's RobertaTokenizerTest:

    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install transformers tokenizers
    /tmp/ref/bin/python scripts/reference/clap_text.py native/src/test/resources/reference/clap_text

It writes:
  tokenizer.json        a small byte-level BPE tokenizer in RoBERTa's layout (the real checkpoints ship one)
  tokenizer_cases.json  texts and the ids RobertaTokenizerFast gives them (padding=True)

The CLAP text tower's outputs are the golden set's clap_text case (../shared/golden), not made here.
"""
import json
import os
import sys

import transformers
from tokenizers import ByteLevelBPETokenizer
from transformers import RobertaTokenizerFast

out = sys.argv[1]
os.makedirs(out, exist_ok=True)

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
