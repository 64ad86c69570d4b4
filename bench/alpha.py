"""Print what the cut-out's outputs cost at 720p: encode time per frame and file size per second for
ProRes 4444, QuickTime Animation, VP9 with alpha and a PNG sequence, and the cost of the cut-out itself
(foreground colour estimation, the key colour).

Not for: tests (nothing is asserted). usage: .venv/bin/python bench/alpha.py [--frames 60] [--dev-clip PATH]
The frames are the cutout recipe's own output on the moving sample clip (real model, real edges), made
once through the graph, then fed to each sink node in this process so only the sink is timed.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from portraitflow.devices.png_sink import PngSink
from portraitflow.devices.video_sink import VideoSink
from portraitflow.graph import Frame, Mask, Node, Pairing, registry
from portraitflow.graph.node import Context
from portraitflow.graph.runner import run_graph
from portraitflow.graph.testing import make_node, packets
from portraitflow.nodes.key_colour import flatten_on_key
from portraitflow.nodes.looks.foreground import estimate_foreground
from portraitflow.recipes.loader import load_recipe, recipe_graph

KEPT: list[tuple[np.ndarray, np.ndarray]] = []


class Keep(Node):
    """Remembers the cut-out frames and their masks (the bench's own sink)."""

    inputs = {"frame": Frame, "mask": Mask}
    pairing = Pairing(primary="frame", wait_ms=1000.0, max_age_ms=1000.0)

    def process(self, ctx):
        KEPT.append((ctx.inputs["frame"].payload, ctx.inputs["mask"].payload))


def cutout_frames(count: int, source: tuple[str, dict]) -> list[tuple[np.ndarray, np.ndarray]]:
    registry.register("bench_keep", Keep)
    spec = recipe_graph(load_recipe("cutout"), source=source, sink=("null_sink", {}))
    spec.add("keep", "bench_keep")
    spec.connect("composite.frame", "keep.frame")
    spec.connect("fringe.mask", "keep.mask")
    run_graph(spec, max_frames=count)
    return list(KEPT)


def time_sink(node: Node, frames: list[np.ndarray]) -> list[float]:
    """Seconds per process() call, the sink opened before and closed after the timed calls."""
    ctx = Context(node.id, lambda port, packet: None)
    node.open(ctx)
    times = []
    try:
        for packet in packets(frames):
            ctx.inputs = {"frame": packet}
            start = time.perf_counter()
            node.process(ctx)
            times.append(time.perf_counter() - start)
    finally:
        start = time.perf_counter()
        node.close(ctx)
        times[-1] += time.perf_counter() - start   # the encoder's flush belongs to the last frame
    return times


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--dev-clip", help="a real video (e.g. /work/shared/devdata/videos/milk.mkv) instead of "
                                           "the sample clip")
    args = parser.parse_args()
    source = ("video_source", {"path": args.dev_clip}) if args.dev_clip else ("sample_source", {"frames": args.frames})
    pairs = cutout_frames(args.frames, source)
    frames = [f for f, _ in pairs]
    height, width = frames[0].shape[:2]
    fps = 30.0
    print(f"{len(frames)} cut-out frames {width}x{height} ({'dev clip' if args.dev_clip else 'sample clip'}); "
          f"measured on a shared, loaded 2-core machine")
    with tempfile.TemporaryDirectory(prefix="portraitflow-alpha-bench-") as tmp:
        out = Path(tmp)
        (out / "seq").mkdir()
        sinks = [
            ("ProRes 4444 .mov (prores, yuva444p10le)", VideoSink, {"path": str(out / "a.mov")}, out / "a.mov"),
            ("ProRes 4444 .mov (prores_ks, yuva444p10le)", VideoSink,
             {"path": str(out / "k.mov"), "codec": "prores4444-ks"}, out / "k.mov"),
            ("QuickTime Animation .mov (qtrle, argb)", VideoSink, {"path": str(out / "b.mov"), "codec": "qtrle"},
             out / "b.mov"),
            ("VP9 alpha .webm (libvpx-vp9, yuva420p)", VideoSink, {"path": str(out / "c.webm")}, out / "c.webm"),
            ("PNG sequence (RGBA, zlib level 1)", PngSink, {"path": str(out / "seq" / "%05d.png")}, out / "seq"),
            ("H.264 .mp4 (alpha dropped: reference)", VideoSink, {"path": str(out / "d.mp4")}, out / "d.mp4"),
        ]
        # mean = all the sink's time (its encoder's flush at close included) over the frames: encoders that
        # buffer frames (libvpx) look free per call and pay at the end
        print(f"{'output':46} {'mean ms':>8} {'p50 ms':>7} {'max fps':>8} {'MB per second':>14}")
        for label, cls, options, written in sinks:
            times = time_sink(make_node(cls, options, "bench"), frames)
            mean, median = sum(times) / len(times) * 1e3, statistics.median(times) * 1e3
            mb_per_s = folder_size(written) / (len(frames) / fps) / 1e6
            print(f"{label:46} {mean:8.1f} {median:7.1f} {1000 / mean:8.1f} {mb_per_s:14.2f}", flush=True)
    # the cut-out's own work
    colour = [np.ascontiguousarray(f[..., :3]) for f in frames]
    times = []
    for image, (_, mask) in zip(colour, pairs):
        start = time.perf_counter()
        estimate_foreground(image, mask)
        times.append(time.perf_counter() - start)
    print(f"{'estimate_foreground (decontamination)':46} {statistics.median(times) * 1e3:7.1f}")
    plate = np.empty((height, width, 3), np.uint8)
    plate[:] = (0, 255, 0)
    times = []
    for frame in frames:
        start = time.perf_counter()
        flatten_on_key(frame, (0, 255, 0), plate=plate)
        times.append(time.perf_counter() - start)
    print(f"{'key colour (flatten_on_key)':46} {statistics.median(times) * 1e3:7.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
