"""Input files: listing (local paths, globs, fsspec URLs), gzip, identity and duplicates.

File identity (what event ids hash) is the hash of the first FINGERPRINT_BYTES of the
decompressed content, as Filebeat's fingerprint mode does: it survives renames,
rotation and compression of a file and stays stable while the file grows. Files
shorter than that are identified by their whole content.
"""

from __future__ import annotations

import hashlib
import io
import os
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import IO

import fsspec

FINGERPRINT_BYTES = 1024
GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class InputFile:
    url: str  # what users see in quarantine rows and messages
    fs: fsspec.AbstractFileSystem
    path: str
    size: int  # bytes on storage (compressed size for .gz)
    mtime: datetime | None
    compressed: bool
    identity: str

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    def open(self) -> IO[bytes]:
        raw = self.fs.open(self.path, "rb")
        if not self.compressed:
            return raw
        return io.BufferedReader(GzipStream(raw), buffer_size=1 << 16)


class GzipStream(io.RawIOBase):
    """Streaming gunzip that hands out every byte before a truncation, then raises EOFError.

    (gzip.GzipFile behind a buffer loses the last buffered block when the file is cut.)
    Concatenated gzip members are read in turn.
    """

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self._dec = zlib.decompressobj(wbits=31)
        self._pending = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending and not self._done:
            chunk = self.raw.read(1 << 16)
            if not chunk:
                if not self._dec.eof:
                    raise EOFError("compressed file ended before the end-of-stream marker was reached")
                self._done = True
                break
            self._pending = self._dec.decompress(chunk)
            while self._dec.eof and self._dec.unused_data:  # next gzip member
                rest = self._dec.unused_data
                self._dec = zlib.decompressobj(wbits=31)
                self._pending += self._dec.decompress(rest)
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def close(self) -> None:
        self.raw.close()
        super().close()


def _mtime(info: dict) -> datetime | None:
    for key in ("mtime", "LastModified", "last_modified", "updated", "created"):
        value = info.get(key)
        if isinstance(value, (int, float)):
            return datetime.fromtimestamp(value, tz=timezone.utc)
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return None


def _identity(fs: fsspec.AbstractFileSystem, path: str, compressed: bool) -> str:
    with fs.open(path, "rb") as raw:
        fh = GzipStream(raw) if compressed else raw
        try:
            head = fh.read(FINGERPRINT_BYTES)
            while compressed and len(head) < FINGERPRINT_BYTES and (more := fh.read(FINGERPRINT_BYTES - len(head))):
                head += more
        except (EOFError, OSError, zlib.error):  # unreadable gzip: identify by the compressed bytes
            raw.seek(0)
            head = b"gz:" + raw.read(FINGERPRINT_BYTES)
    return hashlib.blake2b(head, digest_size=12).hexdigest()


def describe(fs: fsspec.AbstractFileSystem, path: str) -> InputFile:
    info = fs.info(path)
    with fs.open(path, "rb") as fh:
        compressed = fh.read(2) == GZIP_MAGIC
    return InputFile(url=fs.unstrip_protocol(path) if not _is_local(fs) else path, fs=fs, path=path,
                     size=int(info.get("size") or 0), mtime=_mtime(info), compressed=compressed,
                     identity=_identity(fs, path, compressed))


def _is_local(fs: fsspec.AbstractFileSystem) -> bool:
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return protocol in ("file", "local")


def list_files(pattern: str) -> list[InputFile]:
    """Files matching a path, glob or fsspec URL, sorted by path (a stable order)."""
    fs, path = fsspec.core.url_to_fs(pattern)
    if any(c in pattern for c in "*?["):
        paths = sorted(p for p in fs.glob(path) if fs.isfile(p))
    else:
        paths = [path] if fs.exists(path) else []
    return [describe(fs, p) for p in paths]


def content_hash(f: InputFile, limit: int | None = None) -> str:
    """Hash of the decompressed content (its first `limit` bytes if given)."""
    h = hashlib.blake2b(digest_size=16)
    left = limit
    with f.open() as fh:
        while left is None or left > 0:
            try:
                chunk = fh.read(_CHUNK if left is None else min(_CHUNK, left))
            except (EOFError, OSError):
                h.update(b"<unreadable>")
                break
            if not chunk:
                break
            h.update(chunk)
            if left is not None:
                left -= len(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class Duplicate:
    file: InputFile
    same_as: InputFile
    how: str  # "identical" | "prefix"

    def __str__(self) -> str:
        what = "has the same content as" if self.how == "identical" else "is a prefix (older copy) of"
        return f"{self.file.url} {what} {self.same_as.url}; ingested once"


def dedupe(files: list[InputFile]) -> tuple[list[InputFile], list[Duplicate]]:
    """Drop files whose content equals (or is a prefix of) another file's.

    Only files with the same identity can be duplicates, so only those are hashed in
    full. Within such a group the longest file is kept. Two different files that share
    their first bytes keep distinct ids (identity + content hash).
    """
    groups: dict[str, list[InputFile]] = {}
    for f in files:
        groups.setdefault(f.identity, []).append(f)
    keep: list[InputFile] = []
    dupes: list[Duplicate] = []
    for group in groups.values():
        if len(group) == 1:
            keep.append(group[0])
            continue
        hashes = {f.path: content_hash(f) for f in group}
        lengths = {f.path: _content_length(f) for f in group}
        ordered = sorted(group, key=lambda f: (-lengths[f.path], f.path))
        kept_here: list[InputFile] = []
        for f in ordered:
            match = next((k for k in kept_here if hashes[k.path] == hashes[f.path]
                          or content_hash(k, lengths[f.path]) == hashes[f.path]), None)
            if match is None:
                kept_here.append(f)
            else:
                dupes.append(Duplicate(f, match, "identical" if hashes[match.path] == hashes[f.path] else "prefix"))
        if len(kept_here) > 1:  # same head, different content: make identities distinct
            kept_here = [_with_identity(f, f"{f.identity}-{hashes[f.path][:8]}") for f in kept_here]
        keep.extend(kept_here)
    return sorted(keep, key=lambda f: f.path), dupes


def _with_identity(f: InputFile, identity: str) -> InputFile:
    return InputFile(f.url, f.fs, f.path, f.size, f.mtime, f.compressed, identity)


def _content_length(f: InputFile) -> int:
    if not f.compressed:
        return f.size
    n = 0
    with f.open() as fh:
        try:
            while chunk := fh.read(_CHUNK):
                n += len(chunk)
        except (EOFError, OSError):
            pass
    return n
