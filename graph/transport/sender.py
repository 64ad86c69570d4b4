"""The producing end of a link: sends packets only with credit, to one receiver at a time, and for
``block`` keeps what the receiver has not acknowledged so that a restarted receiver gets it again.

Not for: the socket and I/O thread (endpoint.py) or the graph node (link_out.py).
One receiver at a time: the sender serves the first receiver it hears from and refuses every other
(counted ``link_second_receiver``) until that one has been silent for PEER_TIMEOUT_S; it answers
pings and sends hellos only to that receiver, so a stranger learns nothing, not even the session.
Credits are cumulative ("you may send link_seq < allowed"), so a lost or repeated credit never
over-grants, and a restart on either side resynchronises from the next hello (docs/protocol.md).
"""
from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from ..packet import Packet, now_ns
from . import wire
from .endpoint import PEER_TIMEOUT_S, Endpoint, LinkSettings
from .payload import Encoder

#: block links: at most this many sent packets kept until the receiver acknowledges them
RETAIN_LIMIT = 64


class LinkSender(Endpoint):
    """Holds at most a couple of unsent packets and sends them only with credit.

    ``latest``: a new packet replaces the unsent one (counted as link_dropped);
    ``block``: offer() waits until the unsent one has gone out, and sent packets are kept until the
    receiver acknowledges them (credit field ``acked``): a new receiver session gets them again.
    """

    role = "sender"

    def __init__(self, settings: LinkSettings, encoder: Encoder, block: bool):
        super().__init__(settings)
        self.encoder = encoder
        self.block = block
        self.link_seq = 0
        self.allowed = 0
        self.receiver_session: bytes | None = None      # the receiver session credits currently come from
        self._served_session: bytes | None = None       # the last one served (it may come back after a stall)
        self.receiver_peer: bytes | None = None if settings.bind else b""
        self._peer_since = 0.0              # when receiver_peer was chosen (bind: it must credit in time)
        self._last_credit = 0.0
        self._cond = threading.Condition()
        # unsent packets: latest keeps one (the newest); block keeps a few so the producer and this
        # thread overlap instead of handing over one frame at a time
        self._pending: deque[Packet] = deque()
        self._capacity = 2 if block else 1
        self._encoded: tuple[Packet, dict, Any] | None = None
        # block: (link_seq, packet) sent to the current receiver session and not yet acknowledged
        self._unacked: deque[tuple[int, Packet]] = deque()
        self._end_requested = False
        self._end_sent = False
        self._end_acked = threading.Event()

    # node thread ---------------------------------------------------------------------------
    def offer(self, packet: Packet) -> None:
        with self._cond:
            if self.block:
                while (len(self._pending) >= self._capacity and self.error is None
                       and not self._closing.is_set()):
                    self._cond.wait(0.1)
            elif self._pending:
                self._pending.popleft()
                self.counters.add("link_dropped")
            self._pending.append(packet)
        self._raise_error()
        self._act_now(self._after_events)

    def finish(self, timeout_s: float) -> bool:
        """Send what is unsent (block: waiting up to timeout_s for credit), then the end message,
        repeated every heartbeat until the receiver acknowledges it: closing the socket earlier could
        discard it (and data still in flight) while a loaded receiver is slow to read.
        Returns whether the receiver acknowledged the end."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._pending and time.monotonic() < deadline and self.error is None:
                self._cond.wait(0.05)
            if self._pending:
                self.counters.add("link_unsent_at_end", len(self._pending))
                self._pending.clear()
            self._end_requested = True
        self.wake()
        acknowledged = self._end_acked.wait(max(0.0, deadline - time.monotonic()) + 0.5)
        if not acknowledged:
            self.counters.add("link_end_unacknowledged")
        self._raise_error()
        return acknowledged

    def _raise_error(self) -> None:
        if self.error is not None:
            raise self.error

    # under the lock: the I/O thread, or a node thread that found it free (_act_now) ---------
    def _receiver_live(self, now: float) -> bool:
        """Whether the chosen receiver still counts: it credited within PEER_TIMEOUT_S (or was
        chosen that recently and has yet to credit)."""
        since = max(self._last_credit, self._peer_since)
        return self.receiver_peer is not None and now - since <= PEER_TIMEOUT_S

    def _tick(self, now: float) -> None:
        if self.receiver_session is not None and now - self._last_credit > PEER_TIMEOUT_S:
            # the receiver is gone: its credits are void; a fresh credit message restores them
            self.receiver_session = None
            self.allowed = self.link_seq
            self.counters.add("link_peer_lost")
        if self.settings.bind and self.receiver_peer is not None and not self._receiver_live(now):
            self.receiver_peer = None                    # another receiver may connect and take its place
        if self.receiver_peer is not None:
            policy = "block" if self.block else "latest"
            self._send(self.receiver_peer, self._header(wire.HELLO, role="sender", link_seq=self.link_seq,
                                                        policy=policy))
            if self._end_sent and not self._end_acked.is_set():
                self._send_end()                          # lost or not yet readable: say it again

    def _from_receiver(self, peer: bytes) -> bool:
        """Whether a message from ``peer`` is from the receiver this sender serves (bind: the first
        one to say hello while none is live becomes it)."""
        if peer == self.receiver_peer:
            return True
        now = time.monotonic()
        if self.settings.bind and not self._receiver_live(now):
            self.receiver_peer = peer
            self._peer_since = now
            return True
        self.counters.add("link_second_receiver")
        return False

    def _handle(self, peer: bytes, header: dict[str, Any], frames: list) -> None:
        kind = header["kind"]
        if kind not in (wire.CREDIT, wire.PING, wire.END_ACK) and not (
                kind == wire.HELLO and header["role"] == "receiver"):
            self.counters.add("link_unexpected")
            return
        if not self._from_receiver(peer):
            return
        if kind == wire.CREDIT:
            self._credit(header)
        elif kind == wire.PING:
            self._pong(peer, header)
        elif kind == wire.END_ACK and header["sender_session"] == self.session:
            self._end_acked.set()

    def _credit(self, header: dict[str, Any]) -> None:
        if header["sender_session"] != self.session:
            self.counters.add("link_stale_credit")
            return
        now = time.monotonic()
        session = header["session"]
        if session == self._served_session:
            # the same receiver (perhaps back after a stall): it has what it acknowledged and what
            # is queued on the connection, so nothing is resent
            if self.receiver_session is None:
                self.receiver_session = session
                self.allowed = header["allowed"]
            else:
                self.allowed = max(self.allowed, header["allowed"])
        else:
            if self.receiver_session is not None and now - self._last_credit <= PEER_TIMEOUT_S:
                # a second receiver session while the first still credits: refuse it
                self.counters.add("link_second_receiver")
                return
            if self._served_session is not None:
                self.counters.add("link_peer_restarts")
            self.receiver_session = self._served_session = session
            self.allowed = header["allowed"]
            self.encoder.new_receiver()           # keyframe next; none of our shm slots are held
            self._encoded = None
            self._resend_unacked()
        self._acknowledged(header["acked"])
        self.encoder.release(header["received"], header["held"])
        if "shm" in header:
            self.encoder.answer(header["shm"])
        self._last_credit = now

    def _acknowledged(self, acked: int) -> None:
        while self._unacked and self._unacked[0][0] < acked:
            self._unacked.popleft()

    def _resend_unacked(self) -> None:
        """A new receiver session: what the old one never acknowledged goes out again, first, under
        new link_seqs (the new session has seen none of it, so nothing arrives twice)."""
        if not self._unacked:
            return
        packets = [packet for _, packet in self._unacked]
        self._unacked.clear()
        with self._cond:
            self._pending.extendleft(reversed(packets))
        self.counters.add("link_resent", len(packets))

    def _after_events(self) -> None:
        self._send_pending()
        if self._end_requested and not self._end_sent and self.receiver_session is not None:
            with self._cond:
                if self._pending:
                    return
            self._send_end()
            self._end_sent = True

    def _send_end(self) -> None:
        self._send(self.receiver_peer, self._header(wire.END, link_seq=self.link_seq))

    def _send_pending(self) -> None:
        while (self.receiver_session is not None and self.allowed > self.link_seq
               and self.receiver_peer is not None):
            with self._cond:
                packet = self._pending[0] if self._pending else None
            if packet is None:
                return
            if self._encoded is None or self._encoded[0] is not packet:
                if self._encoded is not None:
                    # the encoded packet was replaced before it went out: the decoder never saw it,
                    # so the next frame must not reference it
                    self.encoder.discarded()
                fields, buffer = self.encoder.encode(packet.payload, self.link_seq)
                for name, count in self.encoder.counts.items():
                    if count:
                        self.counters[f"link_shm_{name}"] = count
                self._encoded = (packet, fields, buffer)
            _, fields, buffer = self._encoded
            header = self._header(wire.DATA, receiver_session=self.receiver_session, link_seq=self.link_seq,
                                  seq=packet.seq, capture_ts_ns=packet.capture_ts_ns, sender_ts_ns=now_ns(),
                                  meta=packet.meta, **fields)
            if not self._send(self.receiver_peer, header, buffer):
                return                    # no connection right now: keep it, try again
            if self.block:
                self._unacked.append((self.link_seq, packet))
                if len(self._unacked) > RETAIN_LIMIT:
                    # the receiver keeps that many in use (a node hoarding frames): stop keeping the
                    # oldest for a resend rather than stall or grow without bound
                    self._unacked.popleft()
                    self.counters.add("link_retain_full")
            self.link_seq += 1
            self.counters.add("link_sent")
            self._encoded = None
            with self._cond:
                if self._pending and self._pending[0] is packet:
                    self._pending.popleft()
                elif not self.block:
                    self.counters.add("link_dropped", -1)   # replaced while going out: it was sent
                self._cond.notify_all()

    def _on_close(self) -> None:
        self.encoder.close()
