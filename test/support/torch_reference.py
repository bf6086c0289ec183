#!/usr/bin/python3
"""What PyTorch and Hugging Face's convert.py themselves say, for the interop tests to compare with.

  /usr/bin/python3 torch_reference.py state-dicts FILE...     {file: [[name, dtype, shape], ...]} as torch.load sees them
  /usr/bin/python3 torch_reference.py safetensors-index INDEX  convert_multi's model.safetensors.index.json of a .bin index

dtypes are named as safetensors names them (F16, BF16, F32...). The index is built the way
huggingface/safetensors bindings/python/convert.py does: the .bin index copied key by key, every
weight_map entry renamed by its `rename`, json.dump(indent=4).
"""
import json
import os
import sys

SAFETENSORS_DTYPES = {"float64": "F64", "float32": "F32", "float16": "F16", "bfloat16": "BF16", "int64": "I64",
                      "int32": "I32", "int16": "I16", "int8": "I8", "uint8": "U8", "bool": "BOOL"}


def state_dicts(paths):
    import torch
    out = {}
    for path in paths:
        sd = torch.load(path, map_location="cpu", weights_only=True)
        out[path] = [[name, SAFETENSORS_DTYPES[str(t.dtype).replace("torch.", "")], list(t.shape)] for name, t in sd.items()]
    return json.dumps(out)


def rename(pt_filename):
    filename, _ = os.path.splitext(pt_filename)
    return f"{filename}.safetensors".replace("pytorch_model", "model")


def safetensors_index(path):
    with open(path) as f:
        data = json.load(f)
    newdata = {k: v for k, v in data.items()}
    newdata["weight_map"] = {k: rename(v) for k, v in data["weight_map"].items()}
    return json.dumps(newdata, indent=4)


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    sys.stdout.write(state_dicts(args) if command == "state-dicts" else safetensors_index(args[0]))
