"""Print what each output sink costs at 720p: time in the sink, capture -> decoded at a receiver for streams,
and the frame rate the browser preview reaches in headless Chromium.

Not for: tests (nothing is asserted). usage: .venv/bin/python bench/outputs.py [--frames 150] [--skip-browser]
Streams are received on loopback by a PyAV decoder in another process (as OBS would); latency uses the
machine's monotonic clock on both sides. Frames carry their index as a 16-bit block code in the corner.
"""
from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import numpy as np

from portraitflow.devices.sample_source import SampleSource
from portraitflow.devices.stream_sink import StreamSink
from portraitflow.devices.web_preview import WebPreviewSink
from portraitflow.devices.web_server import WebPreviewServer
from portraitflow.graph.node import Context
from portraitflow.graph.packet import Packet
from portraitflow.graph.runner import GraphRunner
from portraitflow.graph.spec import GraphSpec
from portraitflow.graph.testing import make_node, run_node

BITS, BLOCK = 16, 24

RECEIVER = r"""
import av, json, sys, time, numpy as np
url, fmt, listen = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
options = {"probesize": "32768", "analyzeduration": "0"}
if listen:
    options["listen"] = "1"
print("ready", flush=True)
container = av.open(url, format=fmt, options=options, timeout=(20.0, 5.0))
try:
    for frame in container.decode(video=0):
        image = frame.to_ndarray(format="gray")
        now = time.monotonic_ns()
        bits = image[:24, :16 * 24].reshape(24, 16, 24).mean(axis=(0, 2)) > 128
        print(json.dumps([int(sum(int(b) << i for i, b in enumerate(bits))), now]), flush=True)
except (av.FFmpegError, OSError):
    pass
"""


def stamp(image: np.ndarray, index: int) -> np.ndarray:
    out = image.copy()
    for bit in range(BITS):
        out[:BLOCK, bit * BLOCK:(bit + 1) * BLOCK] = 255 if (index >> bit) & 1 else 0
    return out


def sample_frames(count: int) -> list[np.ndarray]:
    source = make_node(SampleSource, {"frames": count})
    return [p.payload for p in run_node(source)["frame"]]


def pct(values_ns, q) -> float:
    if not len(values_ns):
        return float("nan")
    return float(np.percentile(np.asarray(values_ns, np.float64), q)) / 1e6


def free_port(kind=socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def drive(node, frames: list[np.ndarray], fps: float) -> tuple[list[int], dict[int, int]]:
    """Feed frames at fps; returns the sink's process() times and each index's capture time."""
    ctx = Context(node.id, lambda port, packet: None)
    node.open(ctx)
    process_ns, captured = [], {}
    due = time.monotonic()
    try:
        for index, image in enumerate(frames):
            due += 1 / fps
            captured[index] = ts = time.monotonic_ns()
            ctx.inputs = {"frame": Packet(stamp(image, index), ts, index)}
            start = time.perf_counter_ns()
            node.process(ctx)
            process_ns.append(time.perf_counter_ns() - start)
            time.sleep(max(0.0, due - time.monotonic()))
    finally:
        node.close(ctx)
    return process_ns, captured


def bench_stream(name: str, url: str, fmt: str, listen: bool, frames: list[np.ndarray], fps: float) -> None:
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER, url, fmt, "1" if listen else "0"],
                                stdout=subprocess.PIPE, text=True)
    receiver.stdout.readline()
    time.sleep(0.7)
    process_ns, captured = drive(make_node(StreamSink, {"url": url}), frames, fps)
    try:
        out, _ = receiver.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        receiver.kill()
        out, _ = receiver.communicate()
    arrivals = [json.loads(line) for line in out.splitlines() if line.startswith("[")]
    # the first second is the receiver joining (probing the stream, waiting for a keyframe): a
    # start-up cost, reported apart from the steady latency
    warmup = int(fps)
    latency = [received - captured[index] for index, received in arrivals if warmup <= index < len(captured)]
    first = next((received - captured[index] for index, received in arrivals if index in captured), None)
    print(f"{name:<26} in sink p50 {pct(process_ns, 50):6.2f} ms  p99 {pct(process_ns, 99):6.2f} ms  | "
          f"capture->decoded p50 {pct(latency, 50):6.1f} ms  p99 {pct(latency, 99):6.1f} ms  "
          f"({len(arrivals)}/{len(frames)} frames decoded; first after {(first or 0) / 1e6:.0f} ms)")


def bench_in_process(name: str, node, frames: list[np.ndarray], fps: float) -> None:
    process_ns, _ = drive(node, frames, fps)
    print(f"{name:<26} in sink p50 {pct(process_ns, 50):6.2f} ms  p99 {pct(process_ns, 99):6.2f} ms")


def bench_browser(fps: float, seconds: float) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("browser preview: chromium not installed (apt-get install chromium)")
        return
    spec = (GraphSpec(name="bench-preview")
            .add("capture", "sample_source", frames=100_000, fps=fps, realtime=True)
            .add("preview", "web_preview_sink", max_fps=fps)
            .connect("capture.frame", "preview.frame"))
    server = WebPreviewServer(sink_id="preview").start()
    runner = GraphRunner(spec).start()
    server.attach(runner)
    profile = tempfile.mkdtemp(prefix="portraitflow-bench-")
    browser = subprocess.Popen([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                                "--no-first-run", "--disable-background-networking",
                                "--disable-component-update",
                                "--disable-sync", f"--user-data-dir={profile}", "--remote-debugging-port=0",
                                server.control_url],   # with the token: the page reports its frame rate
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    readings = []
    try:
        time.sleep(3.0)                       # start-up, then one reading a second
        for _ in range(int(seconds)):
            time.sleep(1.0)
            with urllib.request.urlopen(server.url + "stats", timeout=5) as response:
                readings.append(json.load(response)["browser_fps"] or 0.0)
    finally:
        browser.kill()
        browser.wait()
        runner.stop()
        runner.wait(10)
        server.close()
        shutil.rmtree(profile, ignore_errors=True)
    sink = runner.stats.nodes["preview"]
    print(f"browser preview, {fps:.0f} fps 720p source (JPEG 1280 px wide): shown in Chromium "
          f"median {np.median(readings):.1f} fps (min {min(readings):.1f}, max {max(readings):.1f}); "
          f"sink p50 {pct(sink.process_ns, 50):.2f} ms p99 {pct(sink.process_ns, 99):.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--skip-browser", action="store_true")
    args = parser.parse_args()
    frames = sample_frames(args.frames)
    print(f"{len(frames)} frames of 1280x720 at {args.fps:.0f} fps, 2-core machine")
    bench_in_process("null_sink (baseline)", make_node(_null_sink_class()), frames, args.fps)
    bench_in_process("web_preview_sink", make_node(WebPreviewSink), frames, args.fps)
    bench_stream("stream_sink mpegts/udp", f"udp://127.0.0.1:{free_port(socket.SOCK_DGRAM)}", "mpegts", False,
                 frames, args.fps)
    bench_stream("stream_sink rtmp (flv)", f"rtmp://127.0.0.1:{free_port()}/live/bench", "flv", True,
                 frames, args.fps)
    if not args.skip_browser:
        for fps in (30.0, 60.0):
            bench_browser(fps, seconds=6)


def _null_sink_class():
    from portraitflow.graph import registry
    return registry.node_class("null_sink")


if __name__ == "__main__":
    main()
