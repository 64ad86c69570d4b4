"""Same-host pixels through shared memory: the sender's ring of slots and the receiver's descriptor reads.

Not for: sockets or headers (link.py carries a header naming the slot; codecs.py wraps this as codec shm).
Layout of one segment (little endian, mode 0600, exactly data_offset + slots*slot_bytes bytes), named
``pfshm_<pid>_<ring id, 16 lower-case hex>_<generation from 1>`` (the name holds no secret):

    0   8 bytes  magic b"PFSHM001"
    8   u32      slots          12  u32 unused
    16  u64      slot_bytes     24  u64 data_offset
    64  u64[slots]  stamps: 2*link_seq+1 while slot is written, 2*link_seq+2 when complete
    data_offset + i*slot_bytes: slot i

A slot stays the sender's to avoid until the receiver says it is free: every credit message carries
``received`` (all link_seq below it have arrived or are lost) and ``held`` (those below it the receiver
still uses: queued or being decoded). When every slot is held, the sender sends that frame as an
ordinary raw payload instead, so a slow receiver can slow the ring down but never stall the link.
The receiver never maps a segment: it reads slots with preadv on a read-only descriptor, so a peer
that truncates its segment causes a short read (a dropped, counted frame), not a SIGBUS. The stamps
(a seqlock) catch a broken peer: a frame whose slot was rewritten is dropped.
"""
from __future__ import annotations

import os
import re
import secrets
import stat
import struct
import sys
from collections import OrderedDict
from collections.abc import Iterable
from multiprocessing import shared_memory
from typing import Any

import numpy as np

from .wire import WireError

PREFIX = "pfshm_"
NAME_PATTERN = re.compile(r"^pfshm_([1-9][0-9]{0,9})_([0-9a-f]{16})_([1-9][0-9]{0,8})$")
MAGIC = b"PFSHM001"
_LAYOUT = struct.Struct("<8sIIQQ")
STAMPS_OFFSET = 64
MAX_SLOTS = 64
SHM_DIR = "/dev/shm"


def _align(n: int, to: int) -> int:
    return (n + to - 1) // to * to


def segment_name(pid: int, ring_id: int, generation: int) -> str:
    """``pfshm_<pid>_<ring id: 16 lower-case hex digits>_<generation, from 1>``; no secret in it."""
    return f"{PREFIX}{pid}_{ring_id:016x}_{generation}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True                 # someone else's live process
    return True


def remove_stale_segments(directory: str = SHM_DIR) -> list[str]:
    """Unlink ring segments whose owner process is dead (killed before it could unlink them).

    Linux lists POSIX shared memory in /dev/shm; elsewhere there is nothing to scan and nothing is done."""
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        match = NAME_PATTERN.match(name)
        if match and not _pid_alive(int(match.group(1))):
            try:
                if os.stat(os.path.join(directory, name)).st_uid != os.geteuid():
                    continue        # not ours to judge
                os.unlink(os.path.join(directory, name))
                removed.append(name)
            except OSError:
                pass                # another sender got there first
    return removed


def shm_supported() -> bool:
    """Whether this machine offers the shared memory the shm codec uses (Linux's /dev/shm)."""
    return sys.platform.startswith("linux") and os.path.isdir(SHM_DIR)


def shm_room(directory: str = SHM_DIR) -> int:
    """Bytes still free for shared memory (the tmpfs behind /dev/shm); unlimited where there is none."""
    try:
        stat = os.statvfs(directory)
    except (OSError, AttributeError):
        return 1 << 62
    return stat.f_bavail * stat.f_frsize


class ShmRing:
    """The sender's ring: one segment of ``slots`` slots sized for the current frame, re-created
    (under a new generation name) when the frame's byte size changes. The previous segment is kept
    until the next change, so messages still in flight for it stay readable. A slot is reused only
    once the receiver has released the link_seq written to it (``release``)."""

    def __init__(self, slots: int = 8):
        if not 2 <= slots <= MAX_SLOTS:
            raise ValueError(f"shm slots must be in 2..{MAX_SLOTS}, got {slots}")
        # names are listed in /dev/shm for every local process to see: a random ring id, never the
        # link's session (which would let a local process speak for this sender)
        self.ring_id = secrets.randbits(64)
        self.slots = slots
        self.generation = 0
        # [SharedMemory, stamps view, slot_bytes, data_offset]; a list so the view can be dropped at close
        self._segments: list[list[Any]] = []
        self._in_use: dict[int, int] = {}   # link_seq -> slot of the current segment, until released
        self.full = 0                       # frames that found every slot held
        self.no_room = 0                    # frames that found no room for their segment
        self._next_slot = 0

    def _segment_for(self, nbytes: int):
        if self._segments and self._segments[-1][2] == _align(nbytes, 64):
            return self._segments[-1]
        slot_bytes, data_offset, size = self._layout(nbytes)
        if size > shm_room():
            # tmpfs hands out pages only when they are written: a segment larger than what is left
            # (a container's 64 MB /dev/shm, say) would kill this process with SIGBUS mid-copy
            self.no_room += 1
            return None
        self.generation += 1
        name = segment_name(os.getpid(), self.ring_id, self.generation)
        shm = shared_memory.SharedMemory(name=name, create=True, size=size)
        _LAYOUT.pack_into(shm.buf, 0, MAGIC, self.slots, 0, slot_bytes, data_offset)
        stamps = np.ndarray((self.slots,), np.uint64, buffer=shm.buf, offset=STAMPS_OFFSET)
        stamps[:] = 0
        self._segments.append([shm, stamps, slot_bytes, data_offset])
        self._in_use.clear()            # the old segment's slots are no concern of the new one
        while len(self._segments) > 2:
            self._release(self._segments.pop(0))
        return self._segments[-1]

    def segment_name_for(self, nbytes: int) -> str | None:
        """The name of the segment that frames of ``nbytes`` would use (created now if need be), or
        None when shared memory has no room for it: what the sender offers before it uses shm."""
        segment = self._segment_for(nbytes)
        return None if segment is None else segment[0].name.lstrip("/")

    def _layout(self, frame_bytes: int) -> tuple[int, int, int]:
        """(slot_bytes, data_offset, segment size) of a ring for frames of ``frame_bytes``."""
        slot_bytes = _align(frame_bytes, 64)
        data_offset = _align(STAMPS_OFFSET + 8 * self.slots, 4096)
        return slot_bytes, data_offset, data_offset + self.slots * slot_bytes

    def nbytes_needed(self, frame_bytes: int) -> int:
        """The size of a ring segment for frames of ``frame_bytes``."""
        return self._layout(frame_bytes)[2]

    def write(self, array: np.ndarray, link_seq: int) -> dict[str, Any] | None:
        """Copy ``array`` into a free slot for ``link_seq`` (the one producer copy) and return the
        header fields for it; None when the receiver still holds every slot or shared memory has no
        room for a ring of this frame size (counted in ``no_room``)."""
        segment = self._segment_for(array.nbytes)
        if segment is None:
            return None
        shm, stamps, slot_bytes, data_offset = segment
        slot = self._in_use.get(link_seq)       # the same link_seq again (replaced before it went out)
        if slot is None:
            slot = self._free_slot()
            if slot is None:
                self.full += 1
                return None
            self._in_use[link_seq] = slot
        offset = data_offset + slot * slot_bytes
        stamps[slot] = 2 * link_seq + 1
        target = np.ndarray(array.shape, array.dtype, buffer=shm.buf, offset=offset)
        np.copyto(target, array)
        del target
        stamps[slot] = 2 * link_seq + 2
        return {"shm_name": shm.name.lstrip("/"), "shm_slot": slot, "shm_offset": offset}

    def _free_slot(self) -> int | None:
        used = set(self._in_use.values())
        for i in range(self.slots):
            slot = (self._next_slot + i) % self.slots
            if slot not in used:
                self._next_slot = slot + 1
                return slot
        return None

    def release(self, received: int, held: Iterable[int]) -> None:
        """The receiver has every link_seq below ``received`` except ``held``: free those slots."""
        keep = set(held)
        self._in_use = {seq: slot for seq, slot in self._in_use.items() if seq >= received or seq in keep}

    def release_all(self) -> None:
        """A new receiver session: nothing of the old one is held any more."""
        self._in_use.clear()

    @staticmethod
    def _release(segment: list[Any]) -> None:
        shm = segment[0]
        segment[1] = None           # the stamps view exports the buffer: close() refuses while it lives
        try:
            shm.close()
        finally:
            try:
                shm.unlink()
            except FileNotFoundError:
                pass

    def close(self) -> None:
        segments, self._segments = self._segments, []
        for segment in segments:
            self._release(segment)


class _Segment:
    """A sender's segment, opened read-only and read through its descriptor (never mapped).

    Mapping a segment another process owns would let that process kill this one: after it
    truncates the segment, touching a mapped page past the new end raises SIGBUS. pread/preadv on
    the descriptor instead return fewer bytes (a counted, dropped frame). The segment must belong
    to this process's own user, carry mode 0600 and be exactly as large as its layout says."""

    def __init__(self, name: str, max_bytes: int):
        from multiprocessing import shared_memory as _sm
        # shm_open directly, not SharedMemory: attaching through SharedMemory registers the segment
        # with this process's resource_tracker, which would unlink the sender's segment when this
        # process exits (CPython gh-82300; `track=False` exists only from 3.13)
        fd = _sm._posixshmem.shm_open("/" + name, os.O_RDONLY | os.O_NOFOLLOW, mode=0o600)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
                raise WireError(f"shm segment {name} is not owned by this user (uid {info.st_uid})")
            if stat.S_IMODE(info.st_mode) != 0o600:
                raise WireError(f"shm segment {name} has mode {stat.S_IMODE(info.st_mode):o}, expected 600")
            if not STAMPS_OFFSET + 8 <= info.st_size <= max_bytes:
                raise WireError(f"shm segment {name} has {info.st_size} bytes (limit {max_bytes})")
            head = os.pread(fd, _LAYOUT.size, 0)
            if len(head) != _LAYOUT.size:
                raise WireError(f"shm segment {name} is shorter than its layout")
            magic, self.slots, _, self.slot_bytes, self.data_offset = _LAYOUT.unpack(head)
            if (magic != MAGIC or not 1 <= self.slots <= MAX_SLOTS
                    or self.data_offset < STAMPS_OFFSET + 8 * self.slots
                    or self.data_offset + self.slots * self.slot_bytes != info.st_size):
                raise WireError(f"shm segment {name} has a bad layout (or not the size it declares)")
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        self.name = name

    def stamp(self, slot: int) -> int:
        raw = os.pread(self.fd, 8, STAMPS_OFFSET + 8 * slot)
        if len(raw) != 8:
            raise WireError(f"shm segment {self.name} was truncated (stamp of slot {slot} unreadable)")
        return struct.unpack("<Q", raw)[0]

    def read_into(self, out: np.ndarray, offset: int) -> None:
        """Copy the bytes at ``offset`` into ``out`` (one preadv: the one receiver copy)."""
        view = memoryview(out).cast("B")
        got = os.preadv(self.fd, [view], offset)
        if got != view.nbytes:
            raise WireError(f"shm segment {self.name} was truncated: read {got} of {view.nbytes} bytes")

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class ShmReader:
    """The receiver's side for one sending session: opens segments by name (read-only, cached, at
    most two), checks every header field against the segment, then copies the slot out through the
    descriptor into a new array. The first segment this reader opens fixes the ring (the name's pid
    and ring id): a session can only name segments of its own ring afterwards."""

    def __init__(self, max_payload_bytes: int):
        self.max_bytes = MAX_SLOTS * max_payload_bytes + 65536
        self._segments: OrderedDict[str, _Segment] = OrderedDict()
        self.ring: str | None = None          # "pid_ringid" of the first segment opened

    def read(self, header: dict[str, Any], nbytes: int) -> np.ndarray:
        """The frame of a checked header, copied out of the sender's slot."""
        name, slot, offset = header.get("shm_name"), header.get("shm_slot"), header.get("shm_offset")
        for field, value in (("shm_slot", slot), ("shm_offset", offset)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise WireError(f"field {field!r} must be a non-negative int, got {value!r:.60}")
        segment = self._segment(name)
        if slot >= segment.slots:
            raise WireError(f"shm_slot {slot} outside the ring of {segment.slots}")
        if offset != segment.data_offset + slot * segment.slot_bytes or nbytes > segment.slot_bytes:
            raise WireError(f"shm_offset {offset} / {nbytes} bytes do not fit slot {slot} of {name}")
        stamp = 2 * header["link_seq"] + 2
        if segment.stamp(slot) != stamp:
            raise WireError(f"shm slot {slot} does not hold link_seq {header['link_seq']}")
        out = np.empty(header["shape"], np.dtype(header["dtype"]))
        segment.read_into(out, offset)
        if segment.stamp(slot) != stamp:           # rewritten while copying: a torn frame, drop it
            raise WireError(f"shm slot {slot} was overwritten while read (the sender ignored `held`?)")
        return out

    def can_map(self, name: Any) -> bool:
        """Whether the sender's offered segment ``name`` can be read here (same /dev/shm, this
        user's, mode 0600, a sound layout): the answer a receiver gives before the sender uses shm."""
        try:
            self._segment(name)
        except WireError:
            return False
        return True

    def _segment(self, name: Any) -> _Segment:
        ring = _ring_of(name)
        if self.ring is not None and ring != self.ring:
            raise WireError(f"shm segment {name} is not of this sender's ring {self.ring}")
        segment = self._segments.get(name)
        if segment is None:
            try:
                segment = _Segment(name, self.max_bytes)
            except WireError:
                raise
            except (FileNotFoundError, PermissionError, ValueError, OSError) as exc:
                raise WireError(f"shm segment {name} cannot be opened: {type(exc).__name__}") from None
            self.ring = ring
            self._segments[name] = segment
            while len(self._segments) > 2:
                self._segments.popitem(last=False)[1].close()
        return segment

    def close(self) -> None:
        for segment in self._segments.values():
            segment.close()
        self._segments.clear()


def _ring_of(name: Any) -> str:
    """The "pid_ringid" part of a ring segment name; WireError for anything else."""
    if not isinstance(name, str) or not (match := NAME_PATTERN.match(name)):
        raise WireError(f"shm_name {name!r:.80} is not a ring segment name")
    return f"{match.group(1)}_{match.group(2)}"


__all__ = ["NAME_PATTERN", "ShmReader", "ShmRing", "remove_stale_segments", "segment_name"]
