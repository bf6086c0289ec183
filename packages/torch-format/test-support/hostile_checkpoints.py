"""Checkpoints a loader must refuse, written into a folder for the torch-format tests.

Payloads `touch` a file in the marker folder when a trusting loader (torch.load, weights_only=False)
unpickles them; the rest are damaged or hostile structures that execute nothing: escaping keys,
sizes that overflow or disagree, missing records, a compressed or big-endian or legacy archive.
"""
import os
import zipfile

import torch

import pickle_craft as pc
import torch_zip


class Payload:
    """Pickles as `fn(*args)`: torch.save writes it like any object a state dict could hold."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def write_all(out, markers, state_dict):
    """Every hostile checkpoint; `state_dict` is a valid one to damage."""
    def touch(name):
        return f"touch {os.path.join(markers, name)}"

    def write(name, pickled, records=()):
        version = (f"{name}/version", b"3\n")  # torch.load insists on it
        torch_zip.write_plain_zip(os.path.join(out, f"{name}.bin"), [(f"{name}/data.pkl", pickled), *records, version])

    real = pc.tensor("HalfStorage", "0", 3, 0, (3,), (1,))
    data0 = [("{}/data/0", b"\0" * 6)]
    for name, payload in {
        "os-system": pc.call("os", "system", pc.text(touch("os-system"))),
        "builtins-eval": pc.call("builtins", "eval", pc.text(f"__import__('os').system({touch('builtins-eval')!r})")),
        "builtins-exec": pc.call("builtins", "exec", pc.text(f"import os; os.system({touch('builtins-exec')!r})")),
        "subprocess-popen": pc.call("subprocess", "Popen", pc.tuple_(pc.text("touch"), pc.text(os.path.join(markers, "subprocess-popen")))),
        "torch-load": pc.call("torch", "load", pc.text(os.path.join(out, "inner-payload.bin"))),
        "functools-partial": pc.call("functools", "partial", pc.global_("os", "system"), pc.text(touch("functools-partial"))) + b")R",
        "inst-opcode": b"(" + pc.text(touch("inst-opcode")) + b"ios\nsystem\n",
        "rebuild-called-wrongly": pc.call("torch", "HalfStorage", pc.integer(3)),
    }.items():
        write(name, pc.state_dict([("w", real), ("evil", payload)]), [(k.format(name), v) for k, v in data0])
    inner = {"evil": Payload(os.system, touch("torch-load"))}
    torch.save(inner, os.path.join(out, "inner-payload.bin"))
    torch.save({"w": torch.zeros(3), "evil": Payload(os.system, touch("posix-system"))}, os.path.join(out, "posix-system.bin"))
    stack_global = pc.proto(4) + b"\x8c\x02os\x8c\x06system\x93" + pc.tuple_(pc.text(touch("stack-global"))) + b"R."
    write("stack-global", stack_global)
    write("protocol-1", b"}q\x00.")

    def storage_case(name, key, numel, offset, shape, stride, record_bytes, storage_class="HalfStorage"):
        records = [(f"{name}/data/{k}", b"\1" * n) for k, n in record_bytes.items()]
        write(name, pc.state_dict([("w", pc.tensor(storage_class, key, numel, offset, shape, stride))]), records)

    storage_case("key-escapes", "../x", 3, 0, (3,), (1,), {"0": 6})
    storage_case("key-absolute", "/etc/passwd", 3, 0, (3,), (1,), {"0": 6})
    storage_case("numel-overflow", "0", 2 ** 62, 0, (3,), (1,), {"0": 6})
    storage_case("shape-overflow", "0", 3, 0, (2 ** 31, 2 ** 31, 2 ** 31), (1, 1, 1), {"0": 6})
    storage_case("tensor-past-storage", "0", 6, 4, (3,), (1,), {"0": 12})
    storage_case("record-size-mismatch", "0", 6, 0, (6,), (1,), {"0": 10})
    storage_case("record-missing", "1", 3, 0, (3,), (1,), {"0": 6})
    storage_case("complex-dtype", "0", 3, 0, (3,), (1,), {"0": 24}, storage_class="ComplexFloatStorage")
    overlapping = torch.randn(10)
    torch.save({"a": overlapping[0:6], "b": overlapping[3:9]}, os.path.join(out, "shared-no-complete.bin"))  # convert.py refuses it
    torch.save(state_dict, os.path.join(out, "source.bin"))
    records = torch_zip.read_records(os.path.join(out, "source.bin"))
    torch_zip.write_plain_zip(os.path.join(out, "storage-before-pickle.bin"), [records[1], records[0], *records[2:]])
    torch_zip.write_plain_zip(os.path.join(out, "compressed.bin"), records, compression=zipfile.ZIP_DEFLATED)
    torch_zip.write_plain_zip(os.path.join(out, "big-endian.bin"), [records[0], ("source/byteorder", b"big"), *records[1:]])
    torch_zip.write_plain_zip(os.path.join(out, "record-name-escapes.bin"), [*records, ("source/../evil", b"x")])
    torch.save(state_dict, os.path.join(out, "legacy.bin"), _use_new_zipfile_serialization=False)
