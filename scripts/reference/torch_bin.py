"""Fixtures for reading PyTorch checkpoints (pytorch_model.bin) without Python, made by torch.save itself.

    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install torch safetensors
    /tmp/ref/bin/python scripts/reference/torch_bin.py ../shared/golden native/src/test/resources/reference/torch_bin

It writes:
  tensors.bin                  an OrderedDict state dict (default pickle protocol 2) covering every storage dtype,
                               a 0-dim and an empty tensor, a transposed and an expanded (stride 0) view, views of
                               one storage at several offsets, a view past element 65535, a tensor stored under two
                               names, an nn.Parameter, and a module's state dict with its _metadata
  tensors.protocol4.bin        the same dict with pickle_protocol=4 (FRAME, MEMOIZE, SHORT_BINUNICODE, STACK_GLOBAL)
  tensors.expected.safetensors every tensor of that dict, contiguous, as safetensors
  forbidden_global.bin         a tensor and a datetime.date: a global outside the tensor allow-list
  legacy.bin                   a tensor saved with _use_new_zipfile_serialization=False (the pre-1.6 format)
  clap_audio.skeleton.bin      torch.save of the golden clap_audio weights with the storages (data/<key>) left out;
  clap_audio.storages.json     the tensor name each storage key holds: tests put the golden weights back in as
                               the storages, giving a 650 KB pytorch_model.bin from a 40 KB fixture
"""
import collections
import datetime
import json
import os
import sys
import zipfile

import torch
from safetensors.torch import load_file, save_file

golden, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)


def path(name):
    return os.path.join(out, name)


base = torch.arange(40, dtype=torch.float32)
wide = (torch.arange(66000) % 251).to(torch.uint8)
tied = torch.randn(2, 3)
module = torch.nn.Sequential(torch.nn.Linear(3, 2))
state = collections.OrderedDict([
    ("dtype.f32", torch.randn(2, 3)),
    ("dtype.f64", torch.randn(2, 2, dtype=torch.float64)),
    ("dtype.f16", torch.randn(4).half()),
    ("dtype.bf16", torch.randn(3, 2).bfloat16()),
    ("dtype.i64", torch.tensor([-(2 ** 40), -1, 0, 7, 2 ** 62], dtype=torch.int64)),
    ("dtype.i32", torch.tensor([[-5, 3], [2 ** 30, -(2 ** 31)]], dtype=torch.int32)),
    ("dtype.i16", torch.tensor([-300, 300], dtype=torch.int16)),
    ("dtype.i8", torch.tensor([-128, 127, 0], dtype=torch.int8)),
    ("dtype.u8", torch.tensor([0, 1, 255], dtype=torch.uint8)),
    ("dtype.bool", torch.tensor([True, False, True])),
    ("scalar", torch.tensor(3.5)),
    ("empty", torch.zeros(0, 4)),
    ("view.transposed", torch.randn(3, 4).t()),
    ("view.expanded", torch.randn(3).expand(2, 3)),
    ("view.first", base[2:8].view(2, 3)),
    ("view.strided", base[1:31:3]),
    ("view.far", wide[65990:]),
    ("tied.a", tied),
    ("tied.b", tied),
    ("parameter", torch.nn.Parameter(torch.randn(2, 2))),
])
state.update(module.state_dict())
state._metadata = module.state_dict()._metadata

assert not state["view.transposed"].is_contiguous()
assert state["view.far"].storage_offset() > 65535  # pickled with BININT
torch.save(state, path("tensors.bin"))
torch.save(state, path("tensors.protocol4.bin"), pickle_protocol=4)
save_file({k: v.detach().contiguous().clone() for k, v in state.items()}, path("tensors.expected.safetensors"))

loaded = torch.load(path("tensors.bin"), weights_only=True)
assert loaded["view.first"].untyped_storage().data_ptr() == loaded["view.strided"].untyped_storage().data_ptr()
assert loaded["tied.a"].data_ptr() == loaded["tied.b"].data_ptr()
assert isinstance(loaded["parameter"], torch.nn.Parameter)

torch.save({"weight": torch.ones(2), "made": datetime.date(2024, 1, 1)}, path("forbidden_global.bin"))
torch.save({"weight": torch.ones(2)}, path("legacy.bin"), _use_new_zipfile_serialization=False)

# The golden CLAP weights as torch.save writes them, minus the storages.
weights = load_file(os.path.join(golden, "clap_audio", "weights.safetensors"))
full = path("clap_audio.full.bin")
torch.save(weights, full)
storages = {}
with zipfile.ZipFile(full) as src, zipfile.ZipFile(path("clap_audio.skeleton.bin"), "w") as dst:
    for key, (name, t) in enumerate(weights.items()):
        # one storage per tensor, keys in dict order: storage <key> holds exactly this tensor's bytes
        prefix = src.namelist()[0].split("/")[0]
        assert src.read(f"{prefix}/data/{key}") == t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes(), name
        storages[str(key)] = name
    for info in src.infolist():
        if "/data/" not in info.filename:
            dst.writestr(info, src.read(info.filename))
os.remove(full)
with open(path("clap_audio.storages.json"), "w") as f:
    json.dump(storages, f, indent=0)
    f.write("\n")
print("torch", torch.__version__, "wrote", sorted(os.listdir(out)))
