"""The two ends of a link: an I/O thread per end that serves the ZeroMQ socket and runs the protocol.

Not for: graph nodes (link_out.py / link_in.py wrap these) or payload codecs (codecs.py).
The binding end uses a ROUTER socket (it may see several peers, e.g. a restarted one), the
connecting end a DEALER. The socket and the protocol state are guarded by one lock: the I/O thread
holds it while it reads and answers, and a node thread that finds it free sends its data (or its
credit) itself instead of handing it over, saving a thread switch per frame. So that the I/O
thread never calls into ZeroMQ while it waits, it sleeps in the OS's poll on the socket's ZMQ_FD,
and whoever used the socket last checks ZMQ_EVENTS afterwards (the ZMQ_FD rules).
Credits are cumulative ("you may send link_seq < allowed"), so a lost or repeated credit message
never over-grants, and a restart on either side resynchronises from the next hello (see
docs/protocol.md).
"""
from __future__ import annotations

import math
import os
import random
import select
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import zmq

from ..errors import ConfigError, DeviceError
from ..packet import Packet, now_ns
from . import wire
from .clock import ClockOffset
from .security import Security, secure

#: meta key on received packets: add it to capture_ts_ns to get this process's clock (latency figures)
CLOCK_OFFSET_META = "clock_offset_ns"
#: a peer silent this long is considered gone (its credits are void)
PEER_TIMEOUT_S = 1.0
#: a peer silent this long is forgotten by a receiver
PEER_FORGET_S = 5.0
MAX_PEERS = 16


@dataclass(frozen=True)
class LinkSettings:
    address: str
    bind: bool
    stream: str
    node: str = "link"                     # the node id, for error messages
    security: Security = field(default_factory=Security)
    heartbeat_s: float = 0.1
    limits: wire.Limits = wire.DEFAULT_LIMITS


class Counters(dict):
    """Named event counts of one link end, mirrored into the node's run-summary counters."""

    def add(self, name: str, n: int = 1) -> None:
        self[name] = self.get(name, 0) + n


class _Endpoint:
    role = "?"

    def __init__(self, settings: LinkSettings):
        self.settings = settings
        self.session = random.getrandbits(64)
        self.counters = Counters()
        self.security_mode = "plain"
        self._closing = threading.Event()
        self._wake_lock = threading.Lock()      # wake() may come from any thread, even after close()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None
        # the socket and the protocol state (module docstring); not reentrant, so a lease released
        # by a garbage collection inside the I/O thread's own work leaves the work to the loop
        self._lock = threading.Lock()
        context = zmq.Context.instance()
        self.socket = context.socket(zmq.ROUTER if settings.bind else zmq.DEALER)
        s = self.socket
        s.linger = 500
        s.sndhwm = 64
        s.rcvhwm = 64
        # ZeroMQ drops a connection that sends a larger frame: no unbounded allocation on receive
        s.setsockopt(zmq.MAXMSGSIZE, settings.limits.max_payload_bytes + settings.limits.max_header_bytes)
        # transport-level heartbeats notice a vanished peer (no RST) within a second
        s.setsockopt(zmq.HEARTBEAT_IVL, 250)
        s.setsockopt(zmq.HEARTBEAT_TIMEOUT, 1000)
        s.setsockopt(zmq.RECONNECT_IVL, 50)
        s.setsockopt(zmq.RECONNECT_IVL_MAX, 250)
        if settings.bind:
            s.setsockopt(zmq.ROUTER_HANDOVER, 1)

    def start(self) -> "_Endpoint":
        s, settings = self.socket, self.settings
        try:
            self.security_mode = secure(s, settings.address, settings.bind, settings.security, settings.node)
            if settings.bind:
                s.bind(settings.address)
            else:
                s.connect(settings.address)
        except ConfigError:
            self._close_socket()
            raise
        except zmq.ZMQError as exc:
            self._close_socket()
            verb = "bind" if settings.bind else "connect"
            raise DeviceError(f"link {settings.stream!r} (node {settings.node!r}): cannot {verb} "
                              f"{settings.address}: {exc}") from None
        self._thread = threading.Thread(target=self._run, name=f"link:{settings.stream}", daemon=True)
        self._thread.start()
        return self

    def wake(self) -> None:
        with self._wake_lock:
            if self._wake_w < 0:
                return                # closed: nothing to wake
            try:
                os.write(self._wake_w, b"x")
            except BlockingIOError:
                pass                  # a wake-up is already pending

    def close(self) -> None:
        """Stop the I/O thread and close the socket; calling it again does nothing."""
        if self._closing.is_set():
            return
        self._closing.set()
        self.wake()
        if self._thread is not None:
            self._thread.join(5.0)
        self._close_socket()
        with self._wake_lock:
            for fd in (self._wake_r, self._wake_w):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self._wake_r = self._wake_w = -1

    def _close_socket(self) -> None:
        with self._lock:
            if not self.socket.closed:
                self.socket.close()

    # -- the I/O thread ----------------------------------------------------------------------
    def _run(self) -> None:
        poller = select.poll()
        with self._lock:
            poller.register(self.socket.getsockopt(zmq.FD), select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        next_tick = 0.0
        try:
            while not self._closing.is_set():
                with self._lock:
                    now = time.monotonic()
                    if now >= next_tick:
                        self._tick(now)
                        next_tick = now + self.settings.heartbeat_s
                    if self.socket.getsockopt(zmq.EVENTS) & zmq.POLLIN:
                        self._drain()
                    self._after_events()
                    more = self.socket.getsockopt(zmq.EVENTS) & zmq.POLLIN
                if more:
                    continue
                # whole milliseconds, rounded up: a 0 ms poll in the last millisecond before each
                # tick would spin
                timeout_ms = max(0, math.ceil((next_tick - time.monotonic()) * 1000))
                for fd, _ in poller.poll(timeout_ms):
                    if fd == self._wake_r:
                        try:
                            while os.read(self._wake_r, 4096):
                                pass
                        except BlockingIOError:
                            pass
            with self._lock:
                self._on_close()
        except BaseException as exc:  # noqa: BLE001 - reported to the node's thread
            self.error = exc

    def _act_now(self, action) -> None:
        """From a node thread: run ``action`` (which uses the socket) here if the lock is free, else
        leave it to the I/O thread; either way nothing arriving meanwhile goes unnoticed."""
        if self._thread is not None and not self._closing.is_set() and self._lock.acquire(blocking=False):
            try:
                if self.error is None and not self.socket.closed:
                    action()
                    if not self.socket.getsockopt(zmq.EVENTS) & zmq.POLLIN:
                        return              # nothing waiting: the I/O thread may sleep on
            except zmq.ZMQError:
                pass                        # the I/O thread will meet it too, and report it
            finally:
                self._lock.release()
        self.wake()

    def _drain(self) -> None:
        for _ in range(256):          # bounded, so ticks and sends still happen under a flood
            try:
                frames = self.socket.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            peer = frames[0].bytes if self.settings.bind else b""
            if self.settings.bind:
                frames = frames[1:]
            if not frames:
                self.counters.add("link_malformed")
                continue
            try:
                header = wire.unpack(frames[0].buffer, self.settings.limits)
                if header["stream"] != self.settings.stream:
                    raise wire.WireError(f"stream {header['stream']!r} is not {self.settings.stream!r}")
                expected_parts = 2 if header["kind"] == wire.DATA else 1
                if len(frames) != expected_parts:
                    raise wire.WireError(f"{header['kind']} message has {len(frames)} parts, "
                                         f"expected {expected_parts}")
            except wire.WireError:
                self.counters.add("link_malformed")
                continue
            self._handle(peer, header, frames)

    def _send(self, peer: bytes, header: dict[str, Any], payload: Any = None) -> bool:
        parts: list[Any] = [peer] if self.settings.bind else []
        try:
            packed = wire.pack(header)
        except (TypeError, ValueError, OverflowError):
            # metadata msgpack cannot carry: send its plain entries instead (never pickle)
            packed = wire.pack({**header, "meta": _plain_meta(header.get("meta", {}))})
        parts.append(packed)
        if payload is not None:
            parts.append(payload)
        try:
            self.socket.send_multipart(parts, flags=zmq.NOBLOCK, copy=False)
            return True
        except zmq.Again:
            self.counters.add("link_send_blocked")
        except zmq.ZMQError:
            self.counters.add("link_send_failed")
        return False

    def _header(self, kind: str, **fields: Any) -> dict[str, Any]:
        return {"v": wire.PROTOCOL_VERSION, "kind": kind, "session": self.session,
                "stream": self.settings.stream, **fields}

    def _pong(self, peer: bytes, header: dict[str, Any]) -> None:
        received = now_ns()
        self._send(peer, self._header(wire.PONG, t1=header["t1"], t2=received, t3=now_ns()))

    # subclasses
    def _tick(self, now: float) -> None: ...
    def _handle(self, peer: bytes, header: dict[str, Any], frames: list) -> None: ...
    def _after_events(self) -> None: ...
    def _on_close(self) -> None: ...


class LinkSender(_Endpoint):
    """The producing end: holds at most one unsent packet and sends it only with credit.

    ``latest``: a new packet replaces the unsent one (counted as link_dropped);
    ``block``: offer() waits until the unsent one has gone out.
    """

    role = "sender"

    def __init__(self, settings: LinkSettings, encoder, block: bool):
        super().__init__(settings)
        self.encoder = encoder
        self.block = block
        self.link_seq = 0
        self.allowed = 0
        self.receiver_session: int | None = None
        self.receiver_peer: bytes | None = None if settings.bind else b""
        self._last_heard = 0.0
        self._cond = threading.Condition()
        # unsent packets: latest keeps one (the newest); block keeps a few so the producer and this
        # thread overlap instead of handing over one frame at a time
        self._pending: deque[Packet] = deque()
        self._capacity = 2 if block else 1
        self._encoded: tuple[Packet, dict, Any] | None = None
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
        return acknowledged

    def _raise_error(self) -> None:
        if self.error is not None:
            raise self.error

    # under the lock: the I/O thread, or a node thread that found it free (_act_now) ---------
    def _tick(self, now: float) -> None:
        if self.receiver_session is not None and now - self._last_heard > PEER_TIMEOUT_S:
            # the receiver is gone: its credits are void; a fresh credit message restores them
            self.receiver_session = None
            self.allowed = self.link_seq
            self.counters.add("link_peer_lost")
        if self.receiver_peer is not None:
            self._send(self.receiver_peer, self._header(wire.HELLO, role="sender", link_seq=self.link_seq))
            if self._end_sent and not self._end_acked.is_set():
                self._send_end()                          # lost or not yet readable: say it again

    def _handle(self, peer: bytes, header: dict[str, Any], frames: list) -> None:
        kind = header["kind"]
        if kind == wire.CREDIT:
            if header["sender_session"] != self.session:
                self.counters.add("link_stale_credit")
                return
            if header["session"] != self.receiver_session:
                if self.receiver_session is not None:
                    self.counters.add("link_peer_restarts")
                self.receiver_session = header["session"]
                self.allowed = header["allowed"]
                if hasattr(self.encoder, "force_keyframe"):
                    self.encoder.force_keyframe()         # a new receiver has no decoder state
                    self._encoded = None
                if hasattr(self.encoder, "release_all"):
                    self.encoder.release_all()            # ... and holds none of our shm slots
            else:
                self.allowed = max(self.allowed, header["allowed"])
            if "received" in header and hasattr(self.encoder, "release"):
                self.encoder.release(header["received"], header["held"])
            if "shm" in header and hasattr(self.encoder, "answer") and self.encoder.accepted is None:
                self.encoder.answer(header["shm"])
            self.receiver_peer = peer
            self._last_heard = time.monotonic()
        elif kind == wire.PING:
            self._pong(peer, header)
        elif kind == wire.END_ACK:
            if header["sender_session"] == self.session:
                self._end_acked.set()
        elif kind == wire.HELLO and header["role"] == "receiver":
            if self.settings.bind and self.receiver_peer is None:
                self.receiver_peer = peer
        else:
            self.counters.add("link_unexpected")

    def _after_events(self) -> None:
        self._send_pending()
        if self._end_requested and not self._end_sent and self.receiver_peer is not None:
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
                if self._encoded is not None and hasattr(self.encoder, "force_keyframe"):
                    # the encoded packet was replaced before it went out: the decoder never saw it,
                    # so the next frame must not reference it
                    self.encoder.force_keyframe()
                if hasattr(self.encoder, "encode_at"):
                    # shm: the ring slot is keyed by link_seq, so credits decide when it is reused
                    fields, buffer = self.encoder.encode_at(packet.payload, self.link_seq, self.session)
                    for name, count in self.encoder.counts.items():
                        if count:
                            self.counters[f"link_shm_{name}"] = count
                else:
                    fields, buffer = self.encoder.encode(packet.payload)
                self._encoded = (packet, fields, buffer)
            _, fields, buffer = self._encoded
            header = self._header(wire.DATA, link_seq=self.link_seq, seq=packet.seq,
                                  capture_ts_ns=packet.capture_ts_ns, sender_ts_ns=now_ns(),
                                  meta=packet.meta, **fields)
            if not self._send(self.receiver_peer, header, buffer):
                return                    # no connection right now: keep it, try again
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


class _Peer:
    """What a receiver knows about one sending session."""

    def __init__(self, session: int, next_expected: int):
        self.session = session
        self.next_expected = next_expected
        self.clock = ClockOffset()
        self.pings: deque[int] = deque(maxlen=8)
        self.last_heard = time.monotonic()
        self.next_ping = 0.0
        self.granted: tuple[int, list[int]] | None = None   # the last (allowed, held) sent
        self.told_shm: bool | None = None                   # the last shm answer sent

    @property
    def synced(self) -> bool:
        return self.clock.known


#: a queued item: ("data", header, payload frame, clock offset) or ("end", header, None, 0)
Item = tuple[str, dict[str, Any], Any, int]


class LinkReceiver(_Endpoint):
    """The consuming end: accepts data only from peers it has exchanged a ping/pong with, queues at
    most ``window`` messages and grants credits as the node takes them. For shm messages it also
    tells the sender which ring slots it still holds (queued, in hand, or leased as views downstream)."""

    role = "receiver"

    def __init__(self, settings: LinkSettings, window: int):
        super().__init__(settings)
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        self.window = window
        self.peers: dict[bytes, _Peer] = {}
        # reentrant: a lease's release may run from a garbage collection inside a locked section
        self._cond = threading.Condition(threading.RLock())
        self._queue: deque[Item] = deque()
        self._in_hand = 0
        self._held: dict[int, set[int]] = {}     # sender session -> link_seqs of shm slots still in use
        self._leased = 0
        self._taken: tuple[int, int] | None = None   # (session, link_seq) of the shm item in hand
        self._taken_leased = False
        self._ring_slots = 0        # the sender's ring size, once a lease has been asked for (0: unknown)
        self._shm_answers: dict[int, bool] = {}   # sender session -> can its shm segments be mapped here

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
            self._taken, self._taken_leased = _shm_key(item), False
            return item

    def lease(self, ring_slots: int):
        """Keep the shm slot of the item in hand after done(): returns the function that frees it
        (call it once, from any thread), or None when keeping it could use up the sender's ring
        (the window's messages, the leases and one slot of slack for releases not yet reported
        must fit in ``ring_slots``): then copy the frame."""
        with self._cond:
            self._ring_slots = ring_slots
            key = self._taken
            if key is None or self._taken_leased or self._leased + self.window + 1 >= ring_slots:
                return None
            self._leased += 1
            self._taken_leased = True
            self.counters.add("link_shm_leased")

        def release() -> None:
            with self._cond:
                self._leased -= 1
                self._forget(key)
            self._act_now(self._after_events)
        return release

    def answer_shm_offer(self, header: dict[str, Any], can_map) -> None:
        """For a data message of the item in hand that offers the sender's shm ring (``shm_offer``)
        and has no answer yet: ask ``can_map(header)`` and tell the sender in the following credits."""
        session = header["session"]
        with self._cond:
            if "shm_offer" not in header or session in self._shm_answers:
                return
        accepted = can_map(header)
        with self._cond:
            self._shm_answers[session] = accepted
            while len(self._shm_answers) > MAX_PEERS:
                del self._shm_answers[next(iter(self._shm_answers))]
        self.counters.add("link_shm_accepted" if accepted else "link_shm_unreachable")
        self._act_now(self._after_events)

    def done(self) -> None:
        """The item taken last has been handed on: its credit (and, unless leased, its slot) is free."""
        with self._cond:
            self._in_hand -= 1
            if self._taken is not None and not self._taken_leased:
                self._forget(self._taken)
            self._taken = None
        self._act_now(self._after_events)

    def _forget(self, key: tuple[int, int] | None) -> None:
        """(under the lock) this shm slot is no longer held."""
        if key is None:
            return
        held = self._held.get(key[0])
        if held is not None:
            held.discard(key[1])
            if not held:
                del self._held[key[0]]

    # under the lock: the I/O thread, or a node thread that found it free (_act_now) ---------
    def _credit(self, peer_id: bytes, peer: _Peer, refresh: bool = False) -> None:
        """Grant credit and list the held shm slots; unless ``refresh`` (the heartbeat), only when
        that is news to the sender (see below)."""
        if not peer.synced:
            return
        with self._cond:
            free = max(0, self.window - len(self._queue) - self._in_hand)
            held = sorted(self._held.get(peer.session, ()))[:wire.MAX_HELD]
            shm = self._shm_answers.get(peer.session)
        allowed = peer.next_expected + free
        grant = (allowed, held)
        # worth a message: half a window more credit (the sender still holds the other half, so
        # it never waits on this), or freed slots the sender may be short of; a newly held slot it
        # assumes anyway, and freed ones otherwise ride on the next grant
        news = peer.granted is None or allowed >= peer.granted[0] + max(1, self.window // 2)
        if not news and not set(peer.granted[1]) <= set(held):
            news = len(peer.granted[1]) + self.window + 2 > self._ring_slots
        fields: dict[str, Any] = {"received": peer.next_expected, "held": held}
        if shm is not None:
            fields["shm"] = shm
            news = news or shm != peer.told_shm
        if (refresh or news) and self._send(
                peer_id, self._header(wire.CREDIT, sender_session=peer.session, allowed=allowed, **fields)):
            peer.granted = grant
            peer.told_shm = shm

    def _ping(self, peer_id: bytes, peer: _Peer) -> None:
        t1 = now_ns()
        peer.pings.append(t1)
        self._send(peer_id, self._header(wire.PING, t1=t1))
        # a few quick exchanges first (to sync fast), then one a second
        peer.next_ping = time.monotonic() + (self.settings.heartbeat_s if len(peer.clock._samples) < 4 else 1.0)

    def _tick(self, now: float) -> None:
        if not self.settings.bind:
            self._send(b"", self._header(wire.HELLO, role="receiver"))
        for peer_id, peer in list(self.peers.items()):
            if now - peer.last_heard > PEER_FORGET_S:
                del self.peers[peer_id]
                continue
            if now >= peer.next_ping:
                self._ping(peer_id, peer)
            self._credit(peer_id, peer, refresh=True)

    def _after_events(self) -> None:
        for peer_id, peer in self.peers.items():
            self._credit(peer_id, peer)

    def _handle(self, peer_id: bytes, header: dict[str, Any], frames: list) -> None:
        kind = header["kind"]
        peer = self.peers.get(peer_id)
        if kind == wire.HELLO:
            if header["role"] != "sender":
                self.counters.add("link_unexpected")
                return
            if peer is None or peer.session != header["session"]:
                if peer is not None:
                    self.counters.add("link_peer_restarts")
                if peer is None and len(self.peers) >= MAX_PEERS:
                    oldest = min(self.peers, key=lambda p: self.peers[p].last_heard)
                    del self.peers[oldest]
                peer = self.peers[peer_id] = _Peer(header["session"], header["link_seq"])
                self._ping(peer_id, peer)
            # everything before link_seq was sent: what has not arrived is lost, not in flight
            peer.next_expected = max(peer.next_expected, header["link_seq"])
            peer.last_heard = time.monotonic()
            return
        if kind == wire.PING:
            self._pong(peer_id, header)
            return
        if kind == wire.PONG:
            if peer is None or header["session"] != peer.session or header["t1"] not in peer.pings:
                self.counters.add("link_unexpected")
                return
            peer.pings.remove(header["t1"])
            peer.clock.add(header["t1"], header["t2"], header["t3"], now_ns())
            peer.last_heard = time.monotonic()
            self.counters["link_clock_offset_us"] = peer.clock.offset_ns // 1000
            return
        if kind not in (wire.DATA, wire.END):
            self.counters.add("link_unexpected")
            return
        if peer is None or peer.session != header["session"] or not peer.synced:
            self.counters.add("link_unsynced")
            return
        peer.last_heard = time.monotonic()
        if kind == wire.END:
            self._enqueue((wire.END, header, None, 0))       # a repeated end is queued only once
            self._send(peer_id, self._header(wire.END_ACK, sender_session=peer.session))
            return
        peer.next_expected = max(peer.next_expected, header["link_seq"] + 1)
        upstream = header.get("meta", {}).get(CLOCK_OFFSET_META, 0)
        offset = upstream - peer.clock.offset_ns          # local - origin
        if header["capture_ts_ns"] + offset > now_ns() + 1_000_000_000:
            self.counters.add("link_future_timestamp")    # forged or broken clock: would stall the stream
            return
        self.counters.add("link_received")
        self._enqueue((wire.DATA, header, frames[1], offset))

    def _enqueue(self, item: Item) -> None:
        with self._cond:
            if item[0] == wire.END:
                # an end needs no credit and never displaces data; one queued end is enough
                if not (self._queue and self._queue[-1][0] == wire.END):
                    self._queue.append(item)
                    self._cond.notify_all()
                return
            if len(self._queue) >= self.window:
                self._forget(_shm_key(self._queue.popleft()))
                self.counters.add("link_overflow")
            key = _shm_key(item)
            if key is not None:
                self._held.setdefault(key[0], set()).add(key[1])
            self._queue.append(item)
            self._cond.notify_all()


def _shm_key(item: Item) -> tuple[int, int] | None:
    """(sender session, link_seq) of a data item whose pixels are in the sender's shm ring."""
    header = item[1]
    if item[0] != wire.DATA or header.get("codec") != "shm":
        return None
    return header["session"], header["link_seq"]


def _plain_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """The plain entries of metadata msgpack cannot carry whole (str keys; str, number, bool or None)."""
    return {k: v for k, v in meta.items()
            if isinstance(k, str) and isinstance(v, (str, int, float, bool, type(None)))}
