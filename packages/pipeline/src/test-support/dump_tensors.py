"""Every tensor of a checkpoint as torch.load reads it, for the tensor reader's tests.

  dump_tensors.py <checkpoint> <out dir>
      <out dir>/<i>          tensor i's elements in C order, as raw bytes
      <out dir>/index.json   [{"name", "dtype", "shape", "contiguous"}] in the state dict's order
"""
import json
import os
import sys

import torch

loaded = torch.load(sys.argv[1], map_location="cpu")
os.makedirs(sys.argv[2], exist_ok=True)
index = []
for i, (name, t) in enumerate(loaded.items()):
    with open(os.path.join(sys.argv[2], str(i)), "wb") as f:
        f.write(t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    index.append({"name": name, "dtype": str(t.dtype), "shape": list(t.shape), "contiguous": t.is_contiguous()})
with open(os.path.join(sys.argv[2], "index.json"), "w") as f:
    json.dump(index, f)
