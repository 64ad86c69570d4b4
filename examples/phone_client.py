"""A phone stand-in: reads a video (or a camera) and sends its frames to a portraitflow companion.

Not for: production use; it proves docs/protocol.md is enough to write a sender without portraitflow.
It imports only pyzmq, msgpack, numpy and PyAV/OpenCV. Run the companion part first, e.g.

    portraitflow run --graph G --part companion --bind tcp://127.0.0.1:5555
    python examples/phone_client.py --connect tcp://127.0.0.1:5555 --stream capture.frame>companion clip.mp4
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import msgpack
import numpy as np
import zmq

PROTOCOL_VERSION = 2
HEARTBEAT_S = 0.1
PEER_TIMEOUT_S = 1.0


def frames_from(source: str, limit: int | None):
    """BGR uint8 frames from a video file (PyAV) or a camera index (OpenCV), with capture times."""
    count = 0
    if source.isdigit():
        import cv2
        camera = cv2.VideoCapture(int(source))
        try:
            while limit is None or count < limit:
                ok, frame = camera.read()
                if not ok:
                    return
                yield frame, time.monotonic_ns()
                count += 1
        finally:
            camera.release()
        return
    import av
    with av.open(source) as container:
        for frame in container.decode(video=0):
            if limit is not None and count >= limit:
                return
            yield frame.to_ndarray(format="bgr24"), time.monotonic_ns()
            count += 1


class PhoneLink:
    """The sending end of one link: hello, pong, data only with credit, end."""

    def __init__(self, address: str, stream: str, codec: str, jpeg_quality: int, policy: str = "latest"):
        self.socket = zmq.Context.instance().socket(zmq.DEALER)
        self.socket.linger = 2000
        self.socket.connect(address)
        self.stream, self.codec, self.jpeg_quality = stream, codec, jpeg_quality
        self.policy = policy
        self.session = os.urandom(16)      # 128 random bits, told to nobody but the companion
        self.link_seq = 0                  # data messages sent in this session
        self.allowed = 0                   # may send while link_seq < allowed
        self.receiver_session = None
        self.last_heard = 0.0
        self.next_hello = 0.0
        self.sent = self.dropped = 0
        self.end_acked = False

    def header(self, kind: str, **fields) -> bytes:
        return msgpack.packb({"v": PROTOCOL_VERSION, "kind": kind, "session": self.session,
                              "stream": self.stream, **fields})

    def service(self, timeout_s: float) -> None:
        """Heartbeat, and handle what the companion sent (credits and pings) for up to timeout_s."""
        now = time.monotonic()
        if now >= self.next_hello:
            self.socket.send(self.header("hello", role="sender", link_seq=self.link_seq, policy=self.policy))
            self.next_hello = now + HEARTBEAT_S
            if self.receiver_session is not None and now - self.last_heard > PEER_TIMEOUT_S:
                self.receiver_session, self.allowed = None, self.link_seq   # its credits are void
        if not self.socket.poll(int(timeout_s * 1000)):
            return
        while True:
            try:
                parts = self.socket.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            try:
                msg = msgpack.unpackb(parts[0], raw=False)
            except Exception:  # noqa: BLE001, S112 - a message we cannot read is ignored, by design
                continue
            if not isinstance(msg, dict) or msg.get("v") != PROTOCOL_VERSION or msg.get("stream") != self.stream:
                continue
            if msg.get("kind") == "ping":
                t2 = time.monotonic_ns()
                self.socket.send(self.header("pong", t1=msg["t1"], cookie=msg["cookie"], t2=t2,
                                             t3=time.monotonic_ns()))
            elif msg.get("kind") == "end_ack" and msg.get("sender_session") == self.session:
                self.end_acked = True
            elif msg.get("kind") == "credit" and msg.get("sender_session") == self.session:
                if msg["session"] != self.receiver_session:
                    self.receiver_session, self.allowed = msg["session"], msg["allowed"]
                else:
                    self.allowed = max(self.allowed, msg["allowed"])
                self.last_heard = time.monotonic()

    def send(self, frame: np.ndarray, capture_ts_ns: int, seq: int) -> None:
        if self.codec == "jpeg":
            import cv2
            _ok, payload = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
        else:
            payload = np.ascontiguousarray(frame)
        header = self.header("data", receiver_session=self.receiver_session, link_seq=self.link_seq, seq=seq, capture_ts_ns=capture_ts_ns,
                             sender_ts_ns=time.monotonic_ns(), shape=list(frame.shape), dtype="uint8",
                             pixel_format="bgr24", codec=self.codec, meta={"source": "phone_client"})
        self.socket.send_multipart([header, payload], copy=False)
        self.link_seq += 1
        self.sent += 1

    @property
    def has_credit(self) -> bool:
        return self.receiver_session is not None and self.link_seq < self.allowed

    def end(self, timeout_s: float = 5.0) -> bool:
        """Say the stream is over, again every heartbeat until the companion acknowledges it (it may
        still be reading frames in flight); then close. Returns whether it was acknowledged."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not self.end_acked:
            self.socket.send(self.header("end", link_seq=self.link_seq))
            self.service(HEARTBEAT_S)
        self.socket.close()
        return self.end_acked


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("source", help="a video file, or a camera index such as 0")
    p.add_argument("--connect", required=True, help="the companion's address, e.g. tcp://127.0.0.1:5555")
    p.add_argument("--stream", required=True, help="the link's stream name, 'node.port>part' in the graph")
    p.add_argument("--codec", choices=["raw", "jpeg"], default="raw")
    p.add_argument("--jpeg-quality", type=int, default=85)
    p.add_argument("--policy", choices=["latest", "block"], default="latest",
                   help="latest: drop frames the companion has no credit for; block: wait for credit")
    p.add_argument("--frames", type=int, default=None, help="stop after N frames")
    p.add_argument("--fps", type=float, default=0.0, help="pace a file like a camera (0: as read)")
    args = p.parse_args(argv)

    link = PhoneLink(args.connect, args.stream, args.codec, args.jpeg_quality, args.policy)
    start = time.monotonic()
    for seq, (frame, capture_ts_ns) in enumerate(frames_from(args.source, args.frames)):
        if args.fps > 0:
            time.sleep(max(0.0, start + seq / args.fps - time.monotonic()))
        link.service(0)
        while args.policy == "block" and not link.has_credit:
            link.service(0.05)
        if link.has_credit:
            link.send(frame, capture_ts_ns, seq)
        else:
            link.dropped += 1
    acknowledged = link.end()
    print(f"sent {link.sent} frames, dropped {link.dropped} (no credit)"
          f"{'' if acknowledged else '; the companion did not acknowledge the end'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
