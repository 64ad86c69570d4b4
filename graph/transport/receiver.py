"""The consuming end of a link: one sender session at a time, admitted by a stateless ping/pong
challenge; checks order and timestamps per session in its own clock; grants credits and acknowledges.

Not for: the socket and I/O thread (endpoint.py), decoding pixels (codecs.py) or the graph node
(link_in.py). Nothing a stranger sends creates state here: a hello is answered with a ping whose
``cookie`` (an HMAC of the peer's identity, its session and t1 under a key this process never
shares) comes back in the pong; only a correct pong admits a session, and only while no admitted
sender is live (heard within PEER_TIMEOUT_S). Everything else from other sessions is counted and
dropped.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from typing import Any

from ..packet import LINK_CLOCK_OFFSET_COUNTER, now_ns
from . import wire
from .clock import ClockOffset
from .endpoint import PEER_TIMEOUT_S, Endpoint, LinkSettings
from .slot_ledger import SlotLedger
from .wire import CLOCK_OFFSET_META

#: data more than this far ahead of the receiver's clock is refused
FUTURE_LIMIT_NS = 1_000_000_000
#: the offset a packet brings in its meta (earlier hops) may move this much between frames of a session
UPSTREAM_OFFSET_STEP_NS = 50_000_000
#: a pong answering a ping older than this is refused (replays)
COOKIE_AGE_NS = 5_000_000_000
#: window per policy when link_in is not given one: latest takes the freshest frame, block pipelines
WINDOWS = {"latest": 1, "block": 4}


class _Sender:
    """What the receiver knows about the one sending session it serves."""

    def __init__(self, identity: bytes, session: bytes):
        self.identity = identity
        self.session = session
        self.next_expected = 0                 # link_seq of the next data message (all below: seen or lost)
        self.clock = ClockOffset()
        self.last_heard = time.monotonic()
        self.next_ping = 0.0
        self.policy = "latest"
        self.granted: tuple[int, tuple[int, ...], int] | None = None   # the last (allowed, held, acked) sent
        self.told_shm: bool | None = None
        self.shm_answer: bool | None = None
        self.last_capture_ts: int | None = None
        self.upstream_offset: int | None = None


#: a queued item: ("data", header, payload frame, clock offset) or ("end", header, None, 0)
Item = tuple[str, dict[str, Any], Any, int]


class LinkReceiver(Endpoint):
    """Accepts data only from the admitted sender session, queues at most ``window`` messages and
    grants credits as the node takes them. Every credit says which link_seqs have arrived
    (``received``), which shm slots are still being read (``held``) and below which link_seq every
    packet has been used and let go by the graph (``acked``: a block sender resends the rest to a
    new receiver session)."""

    role = "receiver"

    def __init__(self, settings: LinkSettings, window: int = 0):
        super().__init__(settings)
        if window < 0:
            raise ValueError(f"window must be >= 1 (or 0: from the sender's policy), got {window}")
        self.configured_window = window
        self.window = window or WINDOWS["latest"]
        self.sender: _Sender | None = None
        self._cookie_key = secrets.token_bytes(32)
        # reentrant: a release may run from a garbage collection inside a locked section
        self._cond = threading.Condition(threading.RLock())
        self._queue: deque[Item] = deque()
        self._in_hand = 0
        self._taken: tuple[bytes, int] | None = None     # (session, link_seq) of the shm item in hand
        self._ledger = SlotLedger()           # the admitted session's slots and packets still in use

    # node thread ---------------------------------------------------------------------------
    def take(self, timeout_s: float) -> Item | None:
        with self._cond:
            if not self._queue:
                self._cond.wait(timeout_s)
            if self.error is not None:
                raise self.error
            if not self._queue:
                return None
            self._in_hand += 1
            item = self._queue.popleft()
            self._taken = _shm_key(item)
            return item

    def answer_shm_offer(self, header: dict[str, Any], can_map) -> None:
        """For a data message of the item in hand that offers the sender's shm ring (``shm_offer``)
        and has no answer yet: ask ``can_map(header)`` and tell the sender in the following credits."""
        with self._cond:
            sender = self.sender
            if ("shm_offer" not in header or sender is None or sender.session != header["session"]
                    or sender.shm_answer is not None):
                return
        accepted = can_map(header)
        with self._cond:
            if self.sender is sender:
                sender.shm_answer = accepted
        self.counters.add("link_shm_accepted" if accepted else "link_shm_unreachable")
        self._act_now(self._after_events)

    def done(self) -> None:
        """The item taken last has been handed on: its credit (and its shm slot) is free."""
        with self._cond:
            self._in_hand -= 1
            key = self._taken
            if key is not None and self.sender is not None and key[0] == self.sender.session:
                self._ledger.read(key[1])
            self._taken = None
        self._act_now(self._after_events)

    def release(self, session: bytes, link_seq: int) -> None:
        """The graph has let go of the packet of ``link_seq`` (from any thread, also from a garbage
        collection): it may be acknowledged."""
        with self._cond:
            if self.sender is None or self.sender.session != session:
                return
            self._ledger.released(link_seq)
        self._act_now(self._after_events)

    # under the lock: the I/O thread, or a node thread that found it free (_act_now) ---------
    def _credit(self, sender: _Sender, refresh: bool = False) -> None:
        """Grant credit, list the held shm slots and acknowledge; unless ``refresh`` (the
        heartbeat), only when that is news to the sender (see below)."""
        if not sender.clock.known:
            return
        with self._cond:
            free = max(0, self.window - len(self._queue) - self._in_hand)
            held = self._ledger.held()
            acked = self._ledger.acked(sender.next_expected)
            shm = sender.shm_answer
        allowed = sender.next_expected + free
        grant = (allowed, held, acked)
        # worth a message: half a window more credit (the sender still holds the other half, so
        # it never waits on this), freed slots the sender may be short of, or (block) a new
        # acknowledgement, which lets the sender forget what it keeps for a resend
        previous = sender.granted
        news = previous is None or allowed >= previous[0] + max(1, self.window // 2)
        if not news and not set(previous[1]) <= set(held):
            news = True
        if not news and sender.policy == "block" and acked > previous[2]:
            news = True
        fields: dict[str, Any] = {"received": sender.next_expected, "held": list(held), "acked": acked,
                                  "window": self.window}
        if shm is not None:
            fields["shm"] = shm
            news = news or shm != sender.told_shm
        if (refresh or news) and self._send(sender.identity, self._header(
                wire.CREDIT, sender_session=sender.session, allowed=allowed, **fields)):
            sender.granted = grant
            sender.told_shm = shm

    def _cookie(self, identity: bytes, session: bytes, t1: int) -> bytes:
        message = b"%d:%b:%b" % (t1, session, identity)
        return hmac.new(self._cookie_key, message, hashlib.sha256).digest()[:16]

    def _ping(self, identity: bytes, session: bytes) -> None:
        t1 = now_ns()
        self._send(identity, self._header(wire.PING, t1=t1, cookie=self._cookie(identity, session, t1)))

    def _live(self, now: float) -> bool:
        return self.sender is not None and now - self.sender.last_heard <= PEER_TIMEOUT_S

    def _tick(self, now: float) -> None:
        if not self.settings.bind:
            self._send(b"", self._header(wire.HELLO, role="receiver"))
        sender = self.sender
        if sender is None:
            return
        if not self._live(now):
            self._lose_sender()
            return
        if now >= sender.next_ping:
            self._ping(sender.identity, sender.session)
            # a few quick exchanges first (to sync fast), then one a second
            sender.next_ping = now + (self.settings.heartbeat_s if sender.clock.samples < 4 else 1.0)
        self._credit(sender, refresh=True)

    def _lose_sender(self) -> None:
        self.counters.add("link_peer_lost")
        with self._cond:
            self.sender = None
            self._ledger.clear()

    def _after_events(self) -> None:
        if self.sender is not None:
            self._credit(self.sender)

    def _handle(self, identity: bytes, header: dict[str, Any], frames: list) -> None:
        kind = header["kind"]
        sender = self.sender
        now = time.monotonic()
        ours = sender is not None and header["session"] == sender.session and identity == sender.identity
        if kind == wire.HELLO:
            if header["role"] != "sender":
                self.counters.add("link_unexpected")
            elif ours:
                sender.last_heard = now
                # everything before link_seq was sent: what has not arrived is lost, not in flight
                sender.next_expected = max(sender.next_expected, header["link_seq"])
                self._set_policy(sender, header.get("policy", "latest"))
            elif self._live(now):
                self.counters.add("link_second_sender")      # refused while the one served heartbeats
            else:
                self._ping(identity, header["session"])      # the challenge; no state is kept
            return
        if kind == wire.PONG:
            self._pong_received(identity, header, ours, now)
            return
        if kind not in (wire.DATA, wire.END):
            self.counters.add("link_unexpected")
            return
        if not ours or (kind == wire.DATA and header["receiver_session"] != self.session):
            # strangers, replays, or data sent on a previous receiver session's credit
            self.counters.add("link_unsynced")
            return
        sender.last_heard = now
        if kind == wire.END:
            self._enqueue((wire.END, header, None, 0))       # a repeated end is queued only once
            self._send(identity, self._header(wire.END_ACK, sender_session=sender.session))
            return
        self._data_received(sender, header, frames[1])

    def _pong_received(self, identity: bytes, header: dict[str, Any], ours: bool, now: float) -> None:
        t1, t4 = header["t1"], now_ns()
        if (not 0 <= t4 - t1 <= COOKIE_AGE_NS
                or not hmac.compare_digest(header["cookie"], self._cookie(identity, header["session"], t1))):
            self.counters.add("link_unexpected")            # not an answer to a ping of ours
            return
        if ours:
            sender = self.sender
            if not sender.clock.add(t1, header["t2"], header["t3"], t4):
                self.counters.add("link_clock_refused")
                return
        else:
            if self._live(now):
                self.counters.add("link_second_sender")
                return
            sender = _Sender(identity, header["session"])
            if not sender.clock.add(t1, header["t2"], header["t3"], t4):
                self.counters.add("link_clock_refused")
                return
            if self.sender is not None:
                self._lose_sender()
                self.counters.add("link_peer_restarts")
            with self._cond:
                self.sender = sender
                self._ledger.clear()
            self.counters.add("link_sessions")
        sender.last_heard = now
        self.counters[LINK_CLOCK_OFFSET_COUNTER] = sender.clock.offset_ns // 1000

    def _set_policy(self, sender: _Sender, policy: str) -> None:
        sender.policy = policy
        if not self.configured_window:
            self.window = WINDOWS[policy]

    def _data_received(self, sender: _Sender, header: dict[str, Any], payload: Any) -> None:
        link_seq = header["link_seq"]
        if link_seq < sender.next_expected:
            self.counters.add("link_duplicate")              # seen already (or declared lost)
            return
        sender.next_expected = link_seq + 1
        upstream = header.get("meta", {}).get(CLOCK_OFFSET_META, 0)   # origin -> sender, earlier hops
        previous = sender.upstream_offset
        if previous is not None and abs(upstream - previous) > UPSTREAM_OFFSET_STEP_NS:
            self.counters.add("link_offset_jump")
            return
        sender.upstream_offset = upstream
        offset = upstream - sender.clock.offset_ns          # local - origin
        capture_ts = header["capture_ts_ns"]
        if capture_ts + offset > now_ns() + FUTURE_LIMIT_NS:
            self.counters.add("link_future_timestamp")     # forged or broken clock: would stall the stream
            return
        if sender.last_capture_ts is not None and capture_ts <= sender.last_capture_ts:
            self.counters.add("link_out_of_order")         # timestamps only increase within a session
            return
        sender.last_capture_ts = capture_ts
        self.counters.add("link_received")
        self._enqueue((wire.DATA, header, payload, offset))

    def _enqueue(self, item: Item) -> None:
        with self._cond:
            if item[0] == wire.END:
                # an end needs no credit and never displaces data; one queued end is enough
                if not (self._queue and self._queue[-1][0] == wire.END):
                    self._queue.append(item)
                    self._cond.notify_all()
                return
            if len(self._queue) >= self.window:
                dropped = self._queue.popleft()
                self.counters.add("link_overflow")
                if dropped[0] == wire.DATA:
                    self._ledger.dropped(dropped[1]["link_seq"])
            link_seq = item[1]["link_seq"]
            if not self._ledger.received(link_seq, shm=_shm_key(item) is not None):
                self.counters.add("link_unreleased_forgotten")
            self._queue.append(item)
            self._cond.notify_all()


def _shm_key(item: Item) -> tuple[bytes, int] | None:
    """(sender session, link_seq) of a data item whose pixels are in the sender's shm ring."""
    header = item[1]
    if item[0] != wire.DATA or header.get("codec") != "shm":
        return None
    return header["session"], header["link_seq"]
