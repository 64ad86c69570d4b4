"""Print what the sources and sinks cost per 1280x720 frame: sample generation, decode, encode, PNG.

Not for: asserting anything (tests/devices/ checks behaviour); run: .venv/bin/python bench/devices.py
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import cv2

from portraitflow.devices.png_sink import PngSink
from portraitflow.devices.sample_source import SampleSource
from portraitflow.devices.video_sink import VideoSink
from portraitflow.devices.video_source import VideoSource
from portraitflow.graph.node import Context
from portraitflow.graph.testing import make_node, run_node


def per_frame_ms(seconds: float, frames: int) -> float:
    return 1000.0 * seconds / frames


def time_source(node, frames: int) -> float:
    """Per frame, open() excluded (it is paid once; see the open line)."""
    out = []
    ctx = Context("bench", lambda port, packet: out.append(packet))
    node.open(ctx)
    start = time.perf_counter()
    try:
        for _ in range(frames):
            node.process(ctx)
    finally:
        node.close(ctx)
    assert len(out) == frames, (len(out), frames)
    return per_frame_ms(time.perf_counter() - start, frames)


def time_open(node) -> float:
    ctx = Context("bench", lambda port, packet: None)
    start = time.perf_counter()
    node.open(ctx)
    node.close(ctx)
    return 1000.0 * (time.perf_counter() - start)


def time_sink(node, packets) -> float:
    ctx = Context("bench", lambda port, packet: None)
    node.open(ctx)
    start = time.perf_counter()
    try:
        for packet in packets:
            ctx.inputs = {"frame": packet}
            node.process(ctx)
    finally:
        node.close(ctx)       # the encoder's flush counts: it is work the run pays for
    return per_frame_ms(time.perf_counter() - start, len(packets))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="OpenCV threads (0: OpenCV's default)")
    args = parser.parse_args()
    if args.threads:
        cv2.setNumThreads(args.threads)
    n = args.frames
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        clip = str(Path(tmp) / "clip.mp4")
        frames = run_node(make_node(SampleSource, {"frames": n}))["frame"]
        run_node(make_node(VideoSink, {"path": clip}), {"frame": frames})
        cases = {
            "sample_source (warpAffine 720p)": lambda: time_source(make_node(SampleSource, {"frames": n}), n),
            "sample_source open() (stage built once)": lambda: time_open(make_node(SampleSource, {})),
            "video_source decode 720p H.264 -> bgr24": lambda: time_source(
                make_node(VideoSource, {"path": clip}), n),
            "video_sink mp4 veryfast crf20 (default)": lambda: time_sink(
                make_node(VideoSink, {"path": str(Path(tmp) / "a.mp4")}), frames),
            "video_sink mkv veryfast crf20": lambda: time_sink(
                make_node(VideoSink, {"path": str(Path(tmp) / "a.mkv")}), frames),
            "video_sink mp4 ultrafast": lambda: time_sink(
                make_node(VideoSink, {"path": str(Path(tmp) / "b.mp4"), "preset": "ultrafast"}), frames),
            "png_sink (compression 1)": lambda: time_sink(
                make_node(PngSink, {"path": str(Path(tmp) / "p.png")}), frames[:30]),
        }
        for _ in range(args.rounds):
            for name, case in cases.items():
                results.setdefault(name, []).append(case())
        size_kbit = Path(tmp, "a.mp4").stat().st_size * 8 / 1000 / n
    print(f"per 1280x720 frame, median of {args.rounds} rounds of {n} frames "
          f"(OpenCV threads {cv2.getNumThreads()}):")
    for name, values in results.items():
        median = statistics.median(values)
        rate = "" if "open()" in name else f"({1000 / median:6.0f} fps)"
        print(f"  {name:<42} {median:7.2f} ms  {rate:<12}  [{min(values):.2f}-{max(values):.2f}]")
    print(f"  default mp4 size: {size_kbit:.0f} kbit per frame (sample clip)")


if __name__ == "__main__":
    main()
