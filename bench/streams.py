"""Print what a live stream delivers under a camera's real schedule (bursts of 2-3 frames within 1 ms,
+-8 ms jitter, 200 ms stalls, duplicate timestamps): capture -> decoded latency p50/p99 at a receiver in
another process, and the share of the camera's frames that were decoded, for MPEG-TS/UDP and RTMP.

Not for: tests (nothing is asserted; tests/outputs/test_stream_timing.py checks the same runs for errors
and timing). usage: .venv/bin/python bench/streams.py [--frames 600] [--fps 30] [--size 1280x720]
The graph is the live one: camera -> stream_sink over a `latest` edge (a slow moment drops, counted).
Latency uses the machine's monotonic clock on both sides (same host).
"""
from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))     # the camera schedule source lives with the tests

import itertools

from portraitflow.graph.runner import run_graph
from portraitflow.graph.spec import GraphSpec

from support.camera_schedule import CameraScheduleSource

RECEIVER = HERE.parent / "tests" / "outputs" / "stream_receiver.py"


def free_port(kind=socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values, q) -> float:
    return float(np.percentile(np.asarray(values, np.float64), q)) / 1e6 if len(values) else float("nan")


def bench(name: str, url: str, fmt: str, listen: bool, frames: int, fps: float, size: tuple[int, int]) -> None:
    args = [sys.executable, str(RECEIVER), url, fmt, str(frames)] + (["listen"] if listen else [])
    receiver = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    receiver.stdout.readline()
    # read its lines while it runs: a full stdout pipe (64 KB, ~250 lines) would block the receiver
    # and show up here as seconds of latency
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(receiver.stdout), daemon=True)
    reader.start()
    time.sleep(0.7)
    key = f"bench-{fmt}"
    spec = (GraphSpec(name="bench-streams")
            .add("capture", "t_camera_schedule", frames=frames, fps=fps, width=size[0], height=size[1],
                 record=key)
            .add("output", "stream_sink", url=url)
            .connect("capture.frame", "output.frame", policy="latest", queue_size=2))
    stats = run_graph(spec)
    closed_ns = time.monotonic_ns()     # the sink closed: what is decoded later waited for the end
    try:
        receiver.wait(timeout=20)
    except subprocess.TimeoutExpired:
        receiver.kill()
    reader.join(5)
    captured = CameraScheduleSource.captured[key]
    decoded = [json.loads(line) for line in lines if '"grey"' in line]
    # the first second is the receiver joining (probing, waiting for a keyframe): reported apart
    warmup = int(fps)
    # and the last frame stays in the receiver's demuxer until the stream ends (a 5 s read timeout
    # for UDP): an end-of-stream artefact, left out. Frames decoded after the sender closed are the
    # receiver catching up (this PyAV receiver converts to BGR and prints JSON on a loaded machine)
    latency = [f["received_ns"] - captured[f["code"]] for f in decoded[:-1]
               if f["code"] in captured and f["code"] >= warmup]
    after_close = sum(1 for f in decoded if f["received_ns"] > closed_ns)
    if latency:
        worst = max(range(len(latency)), key=latency.__getitem__)
        late = sum(1 for v in latency if v > 200e6)
        print(f"  ({late} frames decoded more than 200 ms after capture, worst {latency[worst] / 1e6:.0f} ms; "
              f"{after_close} decoded after the sender closed)")
    sink = stats.nodes["output"]
    pts = [f["pts"] for f in decoded]
    increasing = all(b > a for a, b in itertools.pairwise(pts))
    print(f"{name:<22} capture->decoded p50 {pct(latency, 50):6.1f} ms  p99 {pct(latency, 99):6.1f} ms  | "
          f"decoded {len(decoded)}/{frames} ({100 * len(decoded) / frames:.1f}%), "
          f"sent {sink.counters.get('frames_sent', 0)}, dropped before the sink {stats.dropped}, "
          f"nudged {sink.counters.get('timestamps_nudged', 0)}, pts increasing: {increasing}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--size", default="1280x720")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    print(f"{args.frames} frames of {args.size} on a camera schedule at {args.fps:g} fps "
          f"(bursts, +-8 ms jitter, 200 ms stalls, duplicate stamps); measured on this machine")
    bench("mpegts/udp", f"udp://127.0.0.1:{free_port(socket.SOCK_DGRAM)}", "mpegts", False,
          args.frames, args.fps, size)
    bench("rtmp (flv)", f"rtmp://127.0.0.1:{free_port()}/live/bench", "flv", True, args.frames, args.fps, size)


if __name__ == "__main__":
    main()
