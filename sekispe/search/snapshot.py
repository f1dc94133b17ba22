"""The search snapshot file: the index's columns, written once, mapped by every process.

Why a file: one build serves every web process on a host. Each process maps
the file copy-on-write (`mmap.ACCESS_COPY`), so the operating system shares
its pages between processes; a delta that rewrites one listing's row makes
private copies of only the few pages it touches (docs/search.md).

Layout: MAGIC, a little-endian u32 format version, a u64 header length, the
header (JSON), then each column's raw bytes at a 64-byte aligned offset. The
header names every column's dtype, shape and offset, the build's date and
change-log position, and a CRC-32 of the column bytes. Only plain numeric and
byte columns are stored (no pickle): reading a file never runs code from it.
A file of another format version, a different column schema, a truncated
file or one whose checksum does not match is refused (`SnapshotInvalid`) and
rebuilt, never served.
"""

from __future__ import annotations

import contextlib
import json
import mmap
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

MAGIC = b"SEKISPE-SEARCH-SNAPSHOT\n"
# Bump when a column's meaning changes without its name or dtype changing.
FORMAT_VERSION = 1
_ALIGN = 64
_PREFIX = struct.Struct("<IQ")


class SnapshotInvalid(ValueError):
    """Not a snapshot this code can serve: wrong version, schema, size or checksum."""


@dataclass
class SnapshotFile:
    meta: dict[str, Any]
    columns: dict[str, np.ndarray]
    # Keeps the mapping open as long as the arrays that view it.
    mapping: mmap.mmap | None = None
    # The file itself, open for reads beside the mapping (os.pread): a column
    # read this way (the search text) stays in the page cache, shared and
    # reclaimable, and never becomes resident memory of the process.
    file: BinaryIO | None = None

    def file_offset(self, name: str) -> int:
        """Where column `name` starts in the file (for os.pread on `file`)."""
        return int(self.meta["_body_start"]) + int(self.meta["columns"][name]["offset"])


def _aligned(offset: int) -> int:
    return -(-offset // _ALIGN) * _ALIGN


def _kind(dtype: np.dtype) -> str:
    # Byte strings are as wide as the longest value: only their kind is schema.
    return "|S" if dtype.kind == "S" else dtype.str


def schema_of(columns: dict[str, np.ndarray]) -> dict[str, str]:
    return {name: _kind(array.dtype) for name, array in sorted(columns.items())}


def write(path: Path, meta: dict[str, Any], columns: dict[str, np.ndarray]) -> int:
    """Write atomically (a temporary file renamed into place); returns the size in bytes."""
    layout: dict[str, dict[str, Any]] = {}
    offset = 0
    crc = 0
    for name, array in columns.items():
        array = np.ascontiguousarray(array)
        columns[name] = array
        offset = _aligned(offset)
        layout[name] = {
            "dtype": array.dtype.str,
            "shape": list(array.shape),
            "offset": offset,
            "nbytes": array.nbytes,
        }
        offset += array.nbytes
    for array in columns.values():
        crc = zlib.crc32(memoryview(array).cast("B"), crc)
    header = json.dumps(
        {**meta, "format": FORMAT_VERSION, "columns": layout, "crc32": crc},
        separators=(",", ":"),
    ).encode()
    body_start = _aligned(len(MAGIC) + _PREFIX.size + len(header))
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "wb") as out:
        out.write(MAGIC + _PREFIX.pack(FORMAT_VERSION, len(header)) + header)
        position = out.tell()
        for name, array in columns.items():
            target = body_start + layout[name]["offset"]
            out.write(b"\0" * (target - position))
            out.write(memoryview(array).cast("B"))
            position = target + array.nbytes
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
    return position


def read_meta(path: Path) -> dict[str, Any]:
    """The header alone (cheap): for choosing among files before mapping one."""
    with open(path, "rb") as f:
        head = f.read(len(MAGIC) + _PREFIX.size)
        if len(head) < len(MAGIC) + _PREFIX.size or not head.startswith(MAGIC):
            raise SnapshotInvalid(f"{path.name}: not a search snapshot")
        version, header_length = _PREFIX.unpack(head[len(MAGIC) :])
        if version != FORMAT_VERSION:
            raise SnapshotInvalid(
                f"{path.name}: format {version}, this code reads {FORMAT_VERSION}"
            )
        if header_length > 1 << 20:
            raise SnapshotInvalid(f"{path.name}: header of {header_length} bytes")
        try:
            meta = json.loads(f.read(header_length))
        except ValueError as exc:
            raise SnapshotInvalid(f"{path.name}: unreadable header") from exc
    meta["_body_start"] = _aligned(len(MAGIC) + _PREFIX.size + header_length)
    return meta


# Set on a file once its checksum passed (a user extended attribute): see read().
VERIFIED_ATTRIBUTE = "user.sekispe.search-verified"
_TAIL = 1 << 16


def _verified_stamp(f: BinaryIO, meta: dict[str, Any]) -> bytes:
    """What a file whose checksum passed looks like: any write since changes it.

    Its inode, size and modification time, and a CRC of its last 64 KiB (a
    write within the same clock tick as the build still shows there, if there).
    """
    st = os.fstat(f.fileno())
    tail = os.pread(f.fileno(), _TAIL, max(0, st.st_size - _TAIL))
    return (
        f"{FORMAT_VERSION}:{meta['crc32']}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:"
        f"{zlib.crc32(tail)}"
    ).encode()


def _verified_before(f: BinaryIO, meta: dict[str, Any]) -> bool:
    try:
        return os.getxattr(f.fileno(), VERIFIED_ATTRIBUTE) == _verified_stamp(f, meta)
    except OSError:  # never verified, or no extended attributes here
        return False


def _mark_verified(f: BinaryIO, meta: dict[str, Any]) -> None:
    # On a filesystem without user attributes every process checks the file.
    with contextlib.suppress(OSError):
        os.setxattr(f.fileno(), VERIFIED_ATTRIBUTE, _verified_stamp(f, meta))


def read(path: Path, *, schema: dict[str, str]) -> SnapshotFile:
    """Map `path` copy-on-write after checking its version, schema, size and checksum.

    The checksum is computed from ordinary reads, not through the mapping, so
    checking a file does not make all of it resident in this process.

    Why the first process to check a file marks it (VERIFIED_ATTRIBUTE) and the
    others trust the mark: reading and checking 1.5 GB at 1,000,000 listings
    costs each new process about 2 s of its 3 s start budget. The mark names
    the file's inode, size, modification time and last 64 KiB, so a file
    written in place since (damaged, truncated, replaced) is checked again.
    """
    meta = read_meta(path)
    layout: dict[str, dict[str, Any]] = meta["columns"]
    if {name: _kind(np.dtype(spec["dtype"])) for name, spec in sorted(layout.items())} != schema:
        raise SnapshotInvalid(f"{path.name}: written by another version (columns differ)")
    body_start = meta["_body_start"]
    end = max((body_start + s["offset"] + s["nbytes"] for s in layout.values()), default=0)
    if os.path.getsize(path) < end:
        raise SnapshotInvalid(f"{path.name}: truncated")
    crc = 0
    f = open(path, "rb", buffering=0)  # noqa: SIM115 (kept open with the mapping)
    try:
        if not _verified_before(f, meta):
            for spec in layout.values():
                f.seek(body_start + spec["offset"])
                remaining = spec["nbytes"]
                while remaining:
                    chunk = f.read(min(remaining, 1 << 22))
                    if not chunk:
                        raise SnapshotInvalid(f"{path.name}: truncated")
                    crc = zlib.crc32(chunk, crc)
                    remaining -= len(chunk)
            if crc != meta["crc32"]:
                raise SnapshotInvalid(f"{path.name}: checksum mismatch")
            _mark_verified(f, meta)
        mapping = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY) if end else None
    except BaseException:
        f.close()
        raise
    columns = {}
    for name, spec in layout.items():
        dtype = np.dtype(spec["dtype"])
        count = int(np.prod(spec["shape"], dtype=np.int64)) if spec["shape"] else 1
        if count == 0 or mapping is None:
            columns[name] = np.zeros(spec["shape"], dtype=dtype)
            continue
        columns[name] = np.frombuffer(
            mapping, dtype=dtype, count=count, offset=body_start + spec["offset"]
        ).reshape(spec["shape"])
    return SnapshotFile(meta=meta, columns=columns, mapping=mapping, file=f)
