"""One end of a link: its ZeroMQ socket, its I/O thread, and the monitor that reports a refused handshake.

Not for: the protocol of either end (sender.py, receiver.py) or graph nodes (link_out.py, link_in.py).
The binding end uses a ROUTER socket (it may see several peers: a restarted one, or strangers), the
connecting end a DEALER. The socket and the protocol state are guarded by one lock: the I/O thread
holds it while it reads and answers, and a node thread that finds it free sends its data (or its
credit) itself instead of handing it over, saving a thread switch per frame. So that the I/O thread
never calls into ZeroMQ while it waits, it sleeps in the OS's poll on the socket's ZMQ_FD, and
whoever used the socket last checks ZMQ_EVENTS afterwards (the ZMQ_FD rules).

ZeroMQ's own heartbeats (ZMQ_HEARTBEAT_IVL) are off on purpose: combined with a receive high-water
mark they abort the process (libzmq asserts `!_io_error` in stream_engine_base.cpp when a heartbeat
timeout fires while a full pipe has stopped the engine's input: zeromq/libzmq#4364, #3937), which
200 flooding connections that all disconnect trigger. The links' own hellos and credits notice a
silent peer (PEER_TIMEOUT_S), and TCP keepalive notices a vanished host.
"""
from __future__ import annotations

import math
import os
import secrets
import select
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import zmq
from zmq.utils.monitor import recv_monitor_message

from ..errors import ConfigError, DeviceError
from ..packet import now_ns
from . import wire
from .security import Security, secure

#: a peer silent this long is lost: its credits are void and another peer may take its place
PEER_TIMEOUT_S = 1.0
#: bytes of a session id: random, never shown to anyone but the peer of the link
SESSION_BYTES = 16

_HANDSHAKE_FAILURES = {
    zmq.EVENT_HANDSHAKE_FAILED_AUTH: "authentication refused (is this end's public key in the other side's "
                                     "allow-list, and the server key the right one?)",
    zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL: "protocol error (do both ends use CurveZMQ, or both plain text?)",
    zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL: "handshake failed (mismatched security: CurveZMQ on one end only?)",
}


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


def new_session() -> bytes:
    """A random 128-bit session id (os.urandom): unguessable, so only the peer it was sent to knows it."""
    return secrets.token_bytes(SESSION_BYTES)


class Endpoint:
    """The socket and the I/O thread; subclasses implement _tick, _handle, _after_events, _on_close."""

    role = "?"

    def __init__(self, settings: LinkSettings):
        self.settings = settings
        self.session = new_session()
        self.counters = Counters()
        self.security_mode = "plain"
        self._closing = threading.Event()
        self._wake_lock = threading.Lock()      # wake() may come from any thread, even after close()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None
        # the socket and the protocol state (module docstring); not reentrant, so a release run by
        # a garbage collection inside the I/O thread's own work leaves the work to the loop
        self._lock = threading.Lock()
        context = zmq.Context.instance()
        self.socket = context.socket(zmq.ROUTER if settings.bind else zmq.DEALER)
        self._monitor: zmq.Socket | None = None
        s = self.socket
        s.linger = 500
        s.sndhwm = 64
        s.rcvhwm = 64          # bounded memory per connection; see the module docstring on heartbeats
        # ZeroMQ drops a connection that sends a larger frame: no unbounded allocation on receive
        s.setsockopt(zmq.MAXMSGSIZE, settings.limits.max_payload_bytes + settings.limits.max_header_bytes)
        s.setsockopt(zmq.TCP_KEEPALIVE, 1)
        s.setsockopt(zmq.TCP_KEEPALIVE_IDLE, 2)
        s.setsockopt(zmq.TCP_KEEPALIVE_INTVL, 1)
        s.setsockopt(zmq.TCP_KEEPALIVE_CNT, 3)
        s.setsockopt(zmq.RECONNECT_IVL, 50)
        s.setsockopt(zmq.RECONNECT_IVL_MAX, 250)

    def start(self) -> Endpoint:
        s, settings = self.socket, self.settings
        try:
            self.security_mode = secure(s, settings.address, settings.bind, settings.security, settings.node)
            self._monitor = s.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_AUTH
                                                 | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
                                                 | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL)
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
            if self._monitor is not None:
                try:
                    self.socket.disable_monitor()
                except zmq.ZMQError:
                    pass
                self._monitor.close(0)
                self._monitor = None
            if not self.socket.closed:
                self.socket.close()

    # -- the I/O thread ----------------------------------------------------------------------
    def _run(self) -> None:
        poller = select.poll()
        with self._lock:
            poller.register(self.socket.getsockopt(zmq.FD), select.POLLIN)
            if self._monitor is not None:
                poller.register(self._monitor.getsockopt(zmq.FD), select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        next_tick = 0.0
        try:
            while not self._closing.is_set() and self.error is None:   # a refused handshake stops it
                with self._lock:
                    self._check_monitor()
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

    def _check_monitor(self) -> None:
        """(under the lock) A handshake the other side refused: the connecting end stops with an
        error naming the reason (it would otherwise retry silently for ever); the binding end
        counts it (strangers without a listed key are refused all the time)."""
        monitor = self._monitor
        if monitor is None:
            return
        while monitor.getsockopt(zmq.EVENTS) & zmq.POLLIN:
            event = recv_monitor_message(monitor, zmq.NOBLOCK)
            reason = _HANDSHAKE_FAILURES.get(event["event"])
            if reason is None:
                continue
            self.counters.add("link_handshake_failed")
            if not self.settings.bind and self.error is None:
                self.error = DeviceError(
                    f"link {self.settings.stream!r} (node {self.settings.node!r}): the {self.security_mode} "
                    f"handshake with {self.settings.address} failed: {reason} [zmq event "
                    f"{zmq.Event(event['event']).name}, value {event['value']}]")

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
        self._send(peer, self._header(wire.PONG, t1=header["t1"], cookie=header["cookie"], t2=received,
                                      t3=now_ns()))

    # subclasses
    def _tick(self, now: float) -> None: ...
    def _handle(self, peer: bytes, header: dict[str, Any], frames: list) -> None: ...
    def _after_events(self) -> None: ...
    def _on_close(self) -> None: ...


def _plain_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """The plain entries of metadata msgpack cannot carry whole (str keys; str, number, bool or None)."""
    return {k: v for k, v in meta.items()
            if isinstance(k, str) and isinstance(v, (str, int, float, bool, type(None)))}
