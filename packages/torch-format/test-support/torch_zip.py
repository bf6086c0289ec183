"""Torch-layout zip archives written by hand, for the cases torch.save only produces at scale.

torch.save (miniz) writes, per record: a local header with flag bit 3 and zero CRC/sizes, an "FB"
extra field padding the data to a 64-byte boundary, the data, then a data descriptor (none for an
empty record). Every archive ends with zip64 end records, however small. Once a record or an offset
passes 4 GiB, local headers gain a zip64 field, descriptors grow to 8-byte sizes and directory
entries carry zip64 fields. That was read off a real 4 GiB torch.save by hand; `write_zip64`
reproduces it for small archives so that the readers' zip64 paths are tested in seconds (torch.load
reads the result, which the tests check).
"""
import struct
import zipfile
import zlib

ALIGN = 64


def _local_header(name, extra, flags):
    return struct.pack("<IHHHHHIIIHH", 0x04034B50, 0, flags, 0, 0, 0, 0, 0, 0, len(name), len(extra)) + name + extra


def _padding(offset, name, extra):
    """The "FB" extra field that puts the data at a multiple of 64 (at least its 4-byte header)."""
    start = offset + 30 + len(name) + len(extra) + 4
    return b"FB" + struct.pack("<H", -start % ALIGN) + b"Z" * (-start % ALIGN)


def write_zip64(path, records):
    """Writes [(name, bytes)] the way miniz does once an archive is zip64, whatever its size."""
    out = bytearray()
    directory = []
    for name, data in records:
        name = name.encode()
        offset = len(out)
        crc = zlib.crc32(data)
        if data:
            zip64 = struct.pack("<HHQQ", 1, 16, len(data), 0)
            extra = zip64 + _padding(offset, name, zip64)
            out += _local_header(name, extra, 0x0808) + data + struct.pack("<IIQQ", 0x08074B50, crc, len(data), len(data))
        else:  # an empty record: no descriptor, as miniz writes it
            out += _local_header(name, _padding(offset, name, b""), 0x0800)
        directory.append((name, crc, len(data), offset))
    cd_offset = len(out)
    for name, crc, size, offset in directory:
        extra = struct.pack("<HHQQQ", 1, 24, size, size, offset)
        out += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0, 0, 0x0808 if size else 0x0800, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                           len(name), len(extra), 0, 0, 0, 0, 0xFFFFFFFF) + name + extra
    cd_size = len(out) - cd_offset
    zip64_end = len(out)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 0x031E, 45, 0, 0, len(directory), len(directory), cd_size, cd_offset)
    out += struct.pack("<IIQI", 0x07064B50, 0, zip64_end, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    with open(path, "wb") as f:
        f.write(out)


def read_records(path):
    """[(name, bytes)] of a zip, in its order."""
    with zipfile.ZipFile(path) as z:
        return [(info.filename, z.read(info)) for info in z.infolist()]


def write_plain_zip(path, records, compression=zipfile.ZIP_STORED, force_zip64=False):
    """Python's zipfile: sizes in the local headers, no descriptors, no alignment."""
    with zipfile.ZipFile(path, "w") as z:
        for name, data in records:
            info = zipfile.ZipInfo(name)
            info.compress_type = compression
            with z.open(info, "w", force_zip64=force_zip64) as f:
                f.write(data)
