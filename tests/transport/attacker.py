"""Hostile and unlucky peers of a link, written from docs/protocol.md with pyzmq and msgpack only.

Not for: portraitflow's own use: it imports nothing of portraitflow, as an outside attacker would not.
Run as a script by tests/transport/test_link_attacks.py; prints one JSON line of what it saw.

    python attacker.py MODE ADDRESS STREAM [options as JSON]
"""
from __future__ import annotations

import json
import os
import random
import struct
import sys
import time

import msgpack
import zmq

V = 2
INT64_MAX = 2**63 - 1


def pack(**fields) -> bytes:
    return msgpack.packb({"v": V, **fields}, use_bin_type=True)


class Sender:
    """A protocol-speaking sender on a DEALER: hello, pong, data with credit (enough to be admitted)."""

    def __init__(self, context: zmq.Context, address: str, stream: str, clock_shift_ns: int = 0,
                 policy: str = "block"):
        self.socket = context.socket(zmq.DEALER)
        self.socket.linger = 0
        self.socket.connect(address)
        self.stream, self.shift, self.policy = stream, clock_shift_ns, policy
        self.session = os.urandom(16)
        self.link_seq = self.allowed = 0
        self.receiver_session: bytes | None = None
        self.shm: bool | None = None
        self.next_hello = 0.0
        self.lie_in_pongs = False

    def clock(self) -> int:
        return time.monotonic_ns() + self.shift

    def header(self, kind: str, **fields) -> bytes:
        return pack(kind=kind, session=self.session, stream=self.stream, **fields)

    def service(self, timeout_s: float = 0.0) -> None:
        now = time.monotonic()
        if now >= self.next_hello:
            self.socket.send(self.header("hello", role="sender", link_seq=self.link_seq, policy=self.policy))
            self.next_hello = now + 0.1
        if not self.socket.poll(int(timeout_s * 1000)):
            return
        while True:
            try:
                parts = self.socket.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            msg = msgpack.unpackb(parts[0], raw=False)
            if msg.get("kind") == "ping":
                t2 = self.clock()
                if self.lie_in_pongs:
                    t2 += random.choice([-1, 1]) * random.randint(10**7, 10**12)
                self.socket.send(self.header("pong", t1=msg["t1"], cookie=msg["cookie"], t2=t2, t3=t2 + 1000))
            elif msg.get("kind") == "credit" and msg.get("sender_session") == self.session:
                if msg["session"] != self.receiver_session:
                    self.receiver_session, self.allowed = msg["session"], msg["allowed"]
                else:
                    self.allowed = max(self.allowed, msg["allowed"])
                if "shm" in msg:
                    self.shm = msg["shm"]

    @property
    def has_credit(self) -> bool:
        return self.receiver_session is not None and self.link_seq < self.allowed

    def wait_credit(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while not self.has_credit and time.monotonic() < deadline:
            self.service(0.02)
        return self.has_credit

    def data(self, payload: bytes, shape: list[int], seq: int, capture_ts_ns: int | None = None,
             meta: dict | None = None, **extra) -> None:
        header = self.header("data", receiver_session=self.receiver_session or bytes(16),
                             link_seq=self.link_seq, seq=seq,
                             capture_ts_ns=self.clock() if capture_ts_ns is None else capture_ts_ns,
                             sender_ts_ns=self.clock(), shape=shape, dtype="uint8", pixel_format="bgr24",
                             codec=extra.pop("codec", "raw"), meta=meta or {}, **extra)
        self.socket.send_multipart([header, payload])
        self.link_seq += 1

    def end(self, timeout_s: float = 5.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.socket.send(self.header("end", link_seq=self.link_seq))
            self.service(0.1)

    def close(self) -> None:
        self.socket.close(0)


def frame_bytes(seq: int, height: int = 90, width: int = 160) -> bytes:
    return bytes([seq % 251]) * (height * width * 3)


def mode_send(context, address, stream, options) -> dict:
    """A well-behaved sender (block), with a clock ``clock_shift_ns`` away from this machine's."""
    sender = Sender(context, address, stream, options.get("clock_shift_ns", 0))
    sent, first = 0, options.get("first_seq", 0)
    for i in range(options["frames"]):
        if not sender.wait_credit(10.0):
            break
        sender.data(frame_bytes(i), [90, 160, 3], first + i)
        sent += 1
        sender.service(1 / options.get("fps", 30))
    if options.get("end", True):
        sender.end()
    sender.close()
    return {"sent": sent}


def mode_truncate(context, address, stream, options) -> dict:
    """Admitted, offers its own well-formed shm segment, then truncates it and sends again."""
    from multiprocessing import shared_memory
    sender = Sender(context, address, stream)
    height, width, slots = 90, 160, 2
    nbytes = height * width * 3
    slot_bytes = (nbytes + 63) // 64 * 64
    data_offset = 4096
    name = f"pfshm_{os.getpid()}_{random.getrandbits(64):016x}_1"
    segment = shared_memory.SharedMemory(name=name, create=True, size=data_offset + slots * slot_bytes)
    struct.pack_into("<8sIIQQ", segment.buf, 0, b"PFSHM001", slots, 0, slot_bytes, data_offset)
    sent = 0
    try:
        while sender.shm is None and sender.wait_credit(10.0):      # raw frames offering the ring
            sender.data(frame_bytes(sent), [height, width, 3], sent, shm_offer=name)
            sent += 1
            sender.service(0.05)
        for round_ in range(6):
            if not sender.wait_credit(5.0):
                break
            slot = sender.link_seq % slots
            if round_ < 2:
                struct.pack_into("<Q", segment.buf, 64 + 8 * slot, 2 * sender.link_seq + 2)
            else:                              # never touch our own mapping again after this
                os.truncate(os.path.join("/dev/shm", name), 4096 if round_ < 4 else 0)
            sender.data(b"", [height, width, 3], sent, codec="shm", shm_name=name, shm_slot=slot,
                        shm_offset=data_offset + slot * slot_bytes)
            sent += 1
            sender.service(0.05)
    finally:
        sender.close()
        segment.close()
        segment.unlink()
    return {"sent": sent, "shm_accepted": sender.shm}


def hostile_message(rng: random.Random, kind: int, stream: str) -> list[bytes]:
    """One of 24 kinds of bad message."""
    session = rng.randbytes(16)
    valid = {"v": V, "kind": "data", "session": session, "receiver_session": rng.randbytes(16), "stream": stream,
             "link_seq": 0, "seq": 0, "capture_ts_ns": time.monotonic_ns(), "sender_ts_ns": 0,
             "shape": [90, 160, 3], "dtype": "uint8", "pixel_format": "bgr24", "codec": "raw", "meta": {}}
    payload = bytes(90 * 160 * 3)
    bad_values = [-1, 2**64 - 1, -2**63, "x", None, [], {}, 1.5, [1e9, 1e9], [0, 0, 3], [8192 * 4, 10, 3],
                  [1] * 50, b"\x00" * 10, True, INT64_MAX]
    p = lambda h: msgpack.packb(h, use_bin_type=True)
    if kind == 0:
        return [rng.randbytes(rng.randint(0, 300)) for _ in range(rng.randint(1, 3))]
    if kind == 1:
        header = dict(valid)
        header[rng.choice(list(header))] = rng.choice(bad_values)
        return [p(header), payload]
    if kind == 2:
        raw = bytearray(p(valid))
        for _ in range(rng.randint(1, 4)):
            raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
        return [bytes(raw), payload]
    if kind == 3:
        return [p(dict(valid, shape=[rng.randint(1, 8192), rng.randint(1, 8192), 3])), rng.randbytes(100)]
    if kind == 4:
        return [p(dict(valid, v=rng.choice([0, 1, 3, "2"])))[:rng.randint(0, 40)], payload, payload]
    if kind == 5:
        return [p({"v": V, "kind": "hello", "session": session, "stream": stream, "role": "sender",
                   "link_seq": rng.randint(0, 10**6), "policy": "latest"})]
    if kind == 6:
        return [p({"v": V, "kind": "credit", "session": session, "stream": stream,
                   "sender_session": rng.randbytes(16), "allowed": 10**6, "received": 0, "held": [],
                   "acked": 0, "window": 4})]
    if kind == 7:
        return [p({"v": V, "kind": "pong", "session": session, "stream": stream, "t1": time.monotonic_ns(),
                   "t2": 2, "t3": 3, "cookie": rng.randbytes(16)})]
    if kind == 8:
        return [p({"v": V, "kind": "end", "session": session, "stream": stream, "link_seq": 5})]
    if kind == 9:
        return [p({"v": V, "kind": "ping", "session": session, "stream": stream, "t1": 1, "cookie": bytes(16)})]
    if kind == 10:
        return [p(dict(valid, capture_ts_ns=INT64_MAX, meta={"clock_offset_ns": -INT64_MAX})), payload]
    if kind == 11:
        return [p(dict(valid, codec="shm", shm_name="../../etc/passwd", shm_slot=0, shm_offset=0)), b""]
    if kind == 12:
        return [p(dict(valid, codec="shm", shm_name=f"pfshm_1_{rng.getrandbits(64):016x}_1", shm_slot=0,
                       shm_offset=4096)), b""]
    if kind == 13:
        return [p(dict(valid, codec="jpeg")), b"\xff\xd8\xff\xc0\x00\x11\x08\x7f\xff\x7f\xff" + rng.randbytes(50)]
    if kind == 14:
        return [p(dict(valid, codec="h264")), rng.randbytes(rng.randint(1, 2000))]
    if kind == 15:
        return [p(dict(valid, codec="mask8", shape=[90, 160], dtype="uint8", pixel_format="mask")),
                rng.randbytes(rng.randint(0, 20000))]
    if kind == 16:
        return [p(dict(valid, stream="other.stream>x")), payload]
    if kind == 17:
        return [p([1, 2, 3])]
    if kind == 18:
        return [p({"v": V, "kind": "end_ack", "session": session, "stream": stream, "sender_session": session})]
    if kind == 19:
        return [p(dict(valid, meta={str(i): i for i in range(200)})), payload]
    if kind == 20:
        return [p(dict(valid, shm_offer="x" * 500)), payload]
    if kind == 21:
        return [b"\xc1" * rng.randint(1, 64)]                        # never-used msgpack byte
    if kind == 22:
        return [p(dict(valid, session=session[:8])), payload]       # a 64-bit session of protocol v1
    return [p({"v": V, "kind": "hello", "session": session, "stream": stream, "role": "receiver"})]


KINDS = 24


def mode_fuzz(context, address, stream, options) -> dict:
    """``messages`` mutated messages of every kind from ``connections`` sockets, as fast as they go."""
    rng = random.Random(options.get("seed", 1))
    sockets = [context.socket(zmq.DEALER) for _ in range(options.get("connections", 4))]
    for s in sockets:
        s.linger = 0
        s.sndhwm = 1000
        s.connect(address)
    sent, blocked, start = 0, 0, time.monotonic()
    for i in range(options["messages"]):
        socket = sockets[i % len(sockets)]
        try:
            socket.send_multipart(hostile_message(rng, i % KINDS, stream), zmq.NOBLOCK)
            sent += 1
        except zmq.Again:
            blocked += 1
            time.sleep(0.001)
    seconds = time.monotonic() - start
    for s in sockets:
        s.close(0)
    return {"sent": sent, "blocked": blocked, "seconds": seconds, "kinds": KINDS}


def mode_flood(context, address, stream, options) -> dict:
    """``connections`` sockets send hellos and garbage for ``seconds``, then all disconnect at once."""
    rng = random.Random(2)
    sockets = [context.socket(zmq.DEALER) for _ in range(options["connections"])]
    for s in sockets:
        s.linger = 0
        s.sndhwm = 100
        s.connect(address)
    sent, deadline = 0, time.monotonic() + options["seconds"]
    while time.monotonic() < deadline:
        for s in sockets:
            try:
                s.send_multipart(hostile_message(rng, rng.choice([0, 1, 5, 7, 9, 23]), stream), zmq.NOBLOCK)
                sent += 1
            except zmq.Again:
                pass
    for s in sockets:
        s.close(0)
    return {"sent": sent}


def mode_strangers(context, address, stream, options) -> dict:
    """``identities`` connections send hellos at 10 Hz, answer pings with lies about their clocks
    (they would be admitted if nobody else were live) and each send a 160x90 frame ``rate`` times a
    second: INT64_MAX timestamps once credited, ordinary (unsynced) data otherwise."""
    senders = [Sender(context, address, stream, policy="latest") for _ in range(options["identities"])]
    for s in senders:
        s.lie_in_pongs = True
    deadline, sent = time.monotonic() + options["seconds"], 0
    while time.monotonic() < deadline:
        for s in senders:
            s.service(0)
            if s.has_credit:                      # admitted (no one else was live): flood
                s.data(frame_bytes(0), [90, 160, 3], 10**6 + sent, capture_ts_ns=INT64_MAX,
                       meta={"clock_offset_ns": -(1 << 60)})
                sent += 1
            else:
                s.data(frame_bytes(0), [90, 160, 3], 10**6 + sent)   # unsynced data: refused
                sent += 1
        time.sleep(1.0 / options.get("rate", 30))
    for s in senders:
        s.close()
    return {"sent": sent}


def mode_steal(context, address, stream, options) -> dict:
    """Connect to a binding sender as a receiver would, and try to get its frames: hellos, pings and
    credits for every session we can think of (we can read /dev/shm, which names none)."""
    socket = context.socket(zmq.DEALER)
    socket.linger = 0
    socket.connect(address)
    mine = os.urandom(16)
    guesses = [os.urandom(16) for _ in range(8)]
    learned: set[bytes] = set()
    data = 0
    deadline = time.monotonic() + options["seconds"]
    while time.monotonic() < deadline:
        socket.send(pack(kind="hello", session=mine, stream=stream, role="receiver"))
        socket.send(pack(kind="ping", session=mine, stream=stream, t1=time.monotonic_ns(), cookie=bytes(16)))
        for target in guesses + list(learned):
            socket.send(pack(kind="credit", session=mine, stream=stream, sender_session=target,
                             allowed=10**6, received=0, held=[], acked=0, window=64))
        while socket.poll(20):
            parts = socket.recv_multipart()
            msg = msgpack.unpackb(parts[0], raw=False)
            learned.add(msg.get("session"))
            if msg.get("kind") == "data":
                data += 1
    socket.close(0)
    return {"data": data, "messages_from_sender": len(learned)}


MODES = {"send": mode_send, "truncate": mode_truncate, "fuzz": mode_fuzz, "flood": mode_flood,
         "strangers": mode_strangers, "steal": mode_steal}

if __name__ == "__main__":
    mode, address, stream = sys.argv[1:4]
    options = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
    context = zmq.Context()
    result = MODES[mode](context, address, stream, options)
    context.term()
    print(json.dumps(result))
