"""A durable local spool: append-only segment files of (topic, key, value) records.

Each record is framed as <u32 length><u32 crc32><payload>, so a write torn by a crash is
detected and ignored on read. A record goes to the OS in one write() as it is appended (no
buffer in the process: what the spool accepted survives a kill of the app); the sender fsyncs
the segment at its next wake-up (power loss), and when it closes it. A process appends to a segment it holds an exclusive flock on;
any process (this one later, or the app after a restart) may claim a segment nobody holds,
send its records and delete it. Claims are exclusive (flock + inode check), so two processes
sharing a spool directory never send a segment twice.
"""

from __future__ import annotations

import fcntl
import logging
import os
import struct
import threading
import time
import weakref
import zlib
from dataclasses import dataclass
from pathlib import Path

from .._core.ids import uuid4_hex

__all__ = ["Spool", "Claim"]

logger = logging.getLogger("phospho")
_FRAME = struct.Struct("<II")
_SUFFIX = ".spool"
SEGMENT_BYTES = 16 << 20


@dataclass
class Claim:
    path: Path
    fd: int
    size: int


def _encode(topic: str, key: bytes | None, value: bytes) -> bytes:
    t = topic.encode("utf-8")
    k = b"" if key is None else key
    payload = b"".join((struct.pack("<H", len(t)), t, struct.pack("<i", -1 if key is None else len(k)), k, value))
    return _FRAME.pack(len(payload), zlib.crc32(payload)) + payload


def _decode(payload: bytes) -> tuple[str, bytes | None, bytes]:
    (tlen,) = struct.unpack_from("<H", payload, 0)
    topic = payload[2 : 2 + tlen].decode("utf-8")
    (klen,) = struct.unpack_from("<i", payload, 2 + tlen)
    start = 6 + tlen
    key = None if klen < 0 else payload[start : start + klen]
    return topic, key, payload[start + max(klen, 0) :]


class Spool:
    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._path: Path | None = None
        self._size = 0
        self._dirty = False
        self.records_written = 0
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: (spool := ref()) is not None and spool._forget_in_child())

    # -- writing ---------------------------------------------------------------------------
    def append(self, topic: str, key: bytes | None, value: bytes) -> bool:
        """Append one record; False when the spool is full (max_bytes) or the disk refuses."""
        frame = _encode(topic, key, value)
        with self._lock:
            try:
                if self._fd is None:
                    if self.total_bytes() + len(frame) > self.max_bytes:
                        return False
                    self._open_segment()
                elif self._size + len(frame) > SEGMENT_BYTES:
                    self._close_segment()
                    if self.total_bytes() + len(frame) > self.max_bytes:
                        return False
                    self._open_segment()
                self._write(frame)
            except OSError as exc:
                logger.error("phospho: cannot write to the spool %s: %s", self.directory, exc)
                self._end_torn_segment()
                return False
            self._size += len(frame)
            self._dirty = True
            self.records_written += 1
            return True

    def _open_segment(self) -> None:
        name = f"{time.time_ns():020d}-{os.getpid()}-{uuid4_hex()[:8]}{_SUFFIX}"
        path = self.directory / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._fd, self._path, self._size = fd, path, 0

    def _write(self, frame: bytes) -> None:
        view = memoryview(frame)
        while view:
            view = view[os.write(self._fd, view):]

    def _close_segment(self) -> None:
        if self._fd is not None:
            try:
                os.fsync(self._fd)
            finally:
                os.close(self._fd)  # releases the flock: the segment becomes claimable
        self._fd, self._path, self._size, self._dirty = None, None, 0, False

    def _end_torn_segment(self) -> None:
        """After a failed write: the segment ends here (its torn tail is skipped on read), so
        that later records are not written after it."""
        try:
            self._close_segment()
        except OSError:
            self._fd, self._path, self._size, self._dirty = None, None, 0, False

    def sync(self) -> None:
        """Make appended records durable (fsync); called by the sender, not the app."""
        with self._lock:
            if self._dirty and self._fd is not None:
                try:
                    os.fsync(self._fd)
                except OSError as exc:
                    logger.error("phospho: cannot sync the spool %s: %s", self.directory, exc)
                self._dirty = False

    def roll(self) -> None:
        """Close the segment being written so that it can be claimed and sent."""
        with self._lock:
            self._close_segment()

    def writing(self) -> bool:
        return self._fd is not None and self._size > 0

    # -- reading -----------------------------------------------------------------------------
    def segments(self) -> list[Path]:
        try:
            return sorted(p for p in self.directory.iterdir() if p.name.endswith(_SUFFIX))
        except OSError:
            return []

    def total_bytes(self) -> int:
        total = 0
        for path in self.segments():
            try:
                total += path.stat().st_size
            except OSError:
                pass
        return total

    def has_backlog(self) -> bool:
        return any(p != self._path for p in self.segments())

    def claim(self) -> Claim | None:
        """Take exclusive ownership of the oldest segment that no process is writing."""
        for path in self.segments():
            if path == self._path:
                continue
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                st = os.fstat(fd)
                if os.stat(path).st_ino != st.st_ino:  # deleted and recreated meanwhile
                    raise FileNotFoundError(path)
            except (BlockingIOError, FileNotFoundError):
                os.close(fd)
                continue
            return Claim(path, fd, st.st_size)
        return None

    def read(self, claim: Claim) -> tuple[list[tuple[str, bytes | None, bytes]], int]:
        """The records of a claimed segment, and how many trailing bytes were torn/corrupt."""
        with os.fdopen(os.dup(claim.fd), "rb") as f:
            f.seek(0)
            data = f.read()
        records, offset = [], 0
        while offset + _FRAME.size <= len(data):
            length, crc = _FRAME.unpack_from(data, offset)
            payload = data[offset + _FRAME.size : offset + _FRAME.size + length]
            if len(payload) != length or zlib.crc32(payload) != crc:
                break
            try:
                records.append(_decode(payload))
            except (struct.error, UnicodeDecodeError):
                break
            offset += _FRAME.size + length
        return records, len(data) - offset

    def release(self, claim: Claim, done: bool) -> None:
        """Delete the segment (done) or give it back for a later attempt, then unlock."""
        try:
            if done:
                os.unlink(claim.path)
        except FileNotFoundError:
            pass
        finally:
            os.close(claim.fd)

    def _forget_in_child(self) -> None:
        """In a forked child: this process's copy of the parent's segment is closed, never
        written (the child's own processor opens its own segments)."""
        self._lock = threading.Lock()
        fd, self._fd, self._path, self._size, self._dirty = self._fd, None, None, 0, False
        if fd is not None:
            os.close(fd)
