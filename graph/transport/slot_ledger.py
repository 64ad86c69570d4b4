"""What a receiver still owes its sender: the shm slots it has yet to read and the packets the graph
still uses, for one sender session; the ``held`` and ``acked`` fields of its credits.

Not for: the locking (the receiver holds its own lock around every call) or the ring itself
(shm_ring.py). A stranger never reaches this: only the admitted session's link_seqs are entered.
"""
from __future__ import annotations

from .wire import MAX_HELD

#: at most this many link_seqs are remembered as in use downstream (a node hoarding frames)
MAX_UNRELEASED = 256


class SlotLedger:
    def __init__(self):
        self._held: set[int] = set()          # link_seqs of shm slots queued or in hand
        self._unreleased: set[int] = set()    # link_seqs received and not yet let go by the graph

    def received(self, link_seq: int, shm: bool) -> bool:
        """A data message entered the queue. False when an old entry had to be forgotten (bound)."""
        if shm:
            self._held.add(link_seq)
        self._unreleased.add(link_seq)
        if len(self._unreleased) > MAX_UNRELEASED:
            self._unreleased.discard(min(self._unreleased))
            return False
        return True

    def read(self, link_seq: int) -> None:
        """Its pixels have been read (or never will be): the slot may be reused."""
        self._held.discard(link_seq)

    def released(self, link_seq: int) -> None:
        """The graph let go of it (or dropped it): it may be acknowledged."""
        self._unreleased.discard(link_seq)

    def dropped(self, link_seq: int) -> None:
        self.read(link_seq)
        self.released(link_seq)

    def clear(self) -> None:
        """A new sender session: nothing of the old one is owed."""
        self._held.clear()
        self._unreleased.clear()

    def held(self) -> tuple[int, ...]:
        return tuple(sorted(self._held)[:MAX_HELD])

    def acked(self, next_expected: int) -> int:
        """Every link_seq below this has been used and let go, or is lost."""
        return min(self._unreleased) if self._unreleased else next_expected
