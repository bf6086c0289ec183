#!/usr/bin/python3
"""Check a safetensors file against the format and against the PyTorch checkpoint it came from.

  /usr/bin/python3 check-safetensors.py A.safetensors --bin A.bin [B.safetensors --bin B.bin ...] [--discard NAME ...]

Reads the safetensors file with nothing but json and numpy (Debian has no safetensors package) and
checks the format's rules (spec llama-patches.md §1): the 8-byte length, at most 100,000,000; UTF-8
JSON from "{", compact as the reference writer's serde_json writes it, padded with spaces to a
multiple of 8; no duplicate names; __metadata__ a string map with "format": "pt"; known dtypes;
offsets covering the data exactly, no holes or overlaps; tensors in the reference writer's order
(descending dtype, then name). Then, against torch.load(weights_only=True) of the .bin: the names
kept and dropped are the ones HF's convert.py keeps and drops (worked out here again from torch's own
storage pointers), dropped names share their kept name's storage, and every tensor equals torch's
bit for bit (bf16 as raw uint16 bits).
Exit 0 and one summary line per file if all is well; else one line per problem on stderr and exit 1.
"""
import argparse
import json
import struct
import sys

import numpy as np

NUMPY = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8", "I32": "<i4",
         "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "?"}
# Position in safetensors' enum Dtype: the reference writer sorts by it, descending, then by name.
RANK = {"BOOL": 0, "U8": 1, "I8": 2, "I16": 3, "F16": 5, "BF16": 6, "I32": 7, "F32": 9, "F64": 10, "I64": 11}


class Invalid(Exception):
    pass


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    duplicated = sorted({k for k in keys if keys.count(k) > 1})
    if duplicated:
        raise Invalid(f"duplicate names in the header: {duplicated}")
    return dict(pairs)


def read_format(path):
    """The header's tensors and metadata, and the data buffer, after checking the format's rules."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise Invalid(f"{len(raw)} bytes; no 8-byte header length")
    n = struct.unpack("<Q", raw[:8])[0]
    if n > 100_000_000:
        raise Invalid(f"header length {n} is over 100,000,000")
    if 8 + n > len(raw):
        raise Invalid(f"header length {n} runs past the end of the file")
    if n % 8:
        raise Invalid(f"header length {n} is not padded to a multiple of 8")
    text = raw[8:8 + n].decode("utf-8")
    body = text.rstrip(" ")
    if not body.startswith("{"):
        raise Invalid("the header does not start with {")
    header = json.loads(body, object_pairs_hook=no_duplicates)
    if json.dumps(header, separators=(",", ":"), ensure_ascii=False) != body:
        raise Invalid("the header is not compact JSON as serde_json writes it")
    metadata = header.pop("__metadata__", None)
    if not isinstance(metadata, dict) or any(not isinstance(v, str) for v in metadata.values()):
        raise Invalid("__metadata__ is missing or not a string map")
    if metadata.get("format") != "pt":
        raise Invalid('__metadata__ lacks "format": "pt"')
    data = memoryview(raw)[8 + n:]
    end = 0
    for name, info in sorted(header.items(), key=lambda item: item[1]["data_offsets"]):
        if info.get("dtype") not in NUMPY:
            raise Invalid(f"{name}: dtype {info.get('dtype')!r} is not one of {sorted(NUMPY)}")
        shape = info.get("shape")
        if not isinstance(shape, list) or any(type(d) is not int or d < 0 for d in shape):
            raise Invalid(f"{name}: shape {shape} is not a list of non-negative integers")
        begin, stop = info["data_offsets"]
        if begin != end:
            raise Invalid(f"{name}: starts at {begin} but the previous tensor ends at {end} ({'overlap' if begin < end else 'hole'})")
        size = int(np.prod(info["shape"], dtype=np.int64)) * np.dtype(NUMPY[info["dtype"]]).itemsize
        if stop - begin != size:
            raise Invalid(f"{name}: spans {stop - begin} bytes, but its dtype and shape need {size}")
        end = stop
    if end != len(data):
        raise Invalid(f"the tensors cover {end} bytes but the data buffer holds {len(data)}")
    names = list(header)
    expected_order = sorted(names, key=lambda k: (-RANK[header[k]["dtype"]], k))
    if names != expected_order:
        raise Invalid("tensors are not in the reference writer's order (descending dtype, then name)")
    if [header[k]["data_offsets"][0] for k in names] != sorted(header[k]["data_offsets"][0] for k in names):
        raise Invalid("offsets do not follow the header's order")
    return header, metadata, data


def end_address(t):
    if t.numel() == 0:
        return t.data_ptr()
    last = sum((size - 1) * stride for size, stride in zip(t.shape, t.stride()))
    return t.data_ptr() + (last + 1) * t.element_size()


def convert_py_dropped(sd, discard):
    """The names convert.py's _remove_duplicate_names removes, and the name each is kept as."""
    groups = {}
    for name, t in sd.items():
        storage = t.storage()
        if storage.data_ptr() and storage.nbytes():
            groups.setdefault((storage.data_ptr(), storage.nbytes()), []).append(name)
    dropped = {}
    for (base, nbytes), names in groups.items():
        clusters, last_stop = [], None
        for start, stop, name in sorted((sd[k].data_ptr(), end_address(sd[k]), k) for k in names):
            if clusters and start < last_stop:
                clusters[-1].append(name)
            else:
                clusters.append([name])
            last_stop = stop
        for cluster in clusters:
            complete = sorted(k for k in cluster if sd[k].data_ptr() == base and sd[k].numel() * sd[k].element_size() == nbytes)
            if not complete:
                continue  # a lone partial view is kept as a copy (convert.py refuses larger clusters)
            keep = ([k for k in complete if k not in discard] or complete)[0]
            for name in sorted(cluster):
                if name != keep:
                    dropped.setdefault(name, keep)
    return dropped


def torch_bits(t):
    import torch
    t = t.detach().contiguous()
    return (t.view(torch.int16).numpy().view("<u2") if t.dtype == torch.bfloat16 else t.numpy()).reshape(-1)


def compare_with_bin(header, metadata, data, bin_path, discard, problems):
    import torch
    try:
        sd = torch.load(bin_path, map_location="cpu", weights_only=True)
    except Exception:  # torch 1.13's weights_only unpickler knows no protocol 4-5 opcode
        sd = torch.load(bin_path, map_location="cpu", weights_only=False)
    if "state_dict" in sd:
        sd = sd["state_dict"]
    dropped = convert_py_dropped(sd, discard)
    expected = set(sd) - set(dropped)
    if set(header) != expected:
        problems.append(f"names differ from convert.py's: missing {sorted(expected - set(header))}, extra {sorted(set(header) - expected)}")
    expected_metadata = {"format": "pt", **{k: v for k, v in dropped.items() if k != "format"}}
    if metadata != expected_metadata:
        problems.append(f"__metadata__ {metadata} is not convert.py's {expected_metadata}")
    for name, keep in dropped.items():
        if sd[name].storage().data_ptr() != sd[keep].storage().data_ptr():
            problems.append(f"{name} is recorded as {keep}, but they do not share a storage in the .bin")
    for name, info in header.items():
        if name not in sd:
            continue
        begin, stop = info["data_offsets"]
        ours = np.frombuffer(data[begin:stop], dtype=NUMPY[info["dtype"]])
        theirs = torch_bits(sd[name])
        if list(sd[name].shape) != info["shape"] or ours.dtype != theirs.dtype or not np.array_equal(ours.view(np.uint8), theirs.view(np.uint8)):
            problems.append(f"{name}: differs from the .bin ({info['dtype']} {info['shape']} vs {sd[name].dtype} {list(sd[name].shape)})")
    return len(dropped)


def check(path, bin_path, discard):
    try:
        header, metadata, data = read_format(path)
    except (Invalid, ValueError, KeyError, TypeError) as error:
        return [f"{path}: {error}"]
    problems = []
    dropped = compare_with_bin(header, metadata, data, bin_path, discard, problems)
    if not problems:
        print(f"{path}: ok: {len(header)} tensors, {dropped} dropped names, {len(data)} data bytes, equal to the .bin bit for bit")
    return [f"{path}: {problem}" for problem in problems]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("safetensors", nargs="+")
    parser.add_argument("--bin", action="append", required=True)
    parser.add_argument("--discard", action="append", default=[])
    args = parser.parse_intermixed_args()
    if len(args.bin) != len(args.safetensors):
        parser.error("give one --bin per safetensors file")
    problems = [p for path, bin_path in zip(args.safetensors, args.bin) for p in check(path, bin_path, set(args.discard))]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
