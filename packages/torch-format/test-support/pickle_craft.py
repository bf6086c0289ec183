"""Pickles written opcode by opcode, shaped like torch.save's, for the hostile checkpoints.

Each helper returns the bytes of one pickle fragment; `state_dict` wraps (name, fragment) pairs the
way torch.save does (protocol 2, an OrderedDict filled by SETITEMS), so a hostile value can sit next
to real tensors where a loader would meet it.
"""
import struct


def proto(version=2):
    return b"\x80" + bytes([version])


def global_(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def text(value):
    data = value.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def integer(value):
    if 0 <= value < 256:
        return b"K" + bytes([value])
    if -(2 ** 31) <= value < 2 ** 31:
        return b"J" + struct.pack("<i", value)
    data = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8a" + bytes([len(data)]) + data


def tuple_(*items):
    return b"(" + b"".join(items) + b"t"


def call(module, name, *args):
    """REDUCE: what a loader that trusts the pickle would run."""
    return global_(module, name) + tuple_(*args) + b"R"


def storage(storage_class, key, numel):
    return tuple_(text("storage"), global_("torch", storage_class), text(key), text("cpu"), integer(numel)) + b"Q"


def tensor(storage_class, key, numel, offset, shape, stride):
    args = (storage(storage_class, key, numel), integer(offset), tuple_(*map(integer, shape)),
            tuple_(*map(integer, stride)), b"\x89", call("collections", "OrderedDict"))
    return call("torch._utils", "_rebuild_tensor_v2", *args)


def state_dict(entries, version=2):
    items = b"".join(text(name) + value for name, value in entries)
    return proto(version) + call("collections", "OrderedDict") + b"(" + items + b"u."
