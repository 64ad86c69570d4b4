"""Figures for full-resolution output: ms per frame of the standard chain at 720p, 1080p and 4K input, the
output kept at the input's size, per recipe, with the per-node medians that make the difference.
Prints; asserts nothing.

Not for: tests. Run: `python bench/resolution.py [--recipes blur,poster,stencil] [--frames 60] [--mp4]
[--rounds 3]` (the median round is printed, the range of all rounds in brackets).
Each run is a real graph (image_source repeating one frame, so decoding is left out -> the chain ->
null_sink, or an MP4 with --mp4) in its own process on two cores; the mask stages work at <= 1280x720
at every input size, so what grows is the composite, the capture's frame and the sink.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

SIZES = {"720p": (1280, 720), "1080p": (1920, 1080), "4K": (3840, 2160)}
NODES = ("capture", "downscale", "segment", "smooth", "fringe", "composite", "output")
PHOTO = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "mediapipe_parity" / \
    "astronaut_in_coffee_1280x720.png"


def one_run(recipe: str, image: str, frames: int, mp4: str | None) -> dict:
    import numpy as np

    from portraitflow.graph.runner import run_graph
    from portraitflow.recipes.loader import load_recipe, recipe_graph

    sink = ("video_sink", {"path": mp4}) if mp4 else ("null_sink", {})
    spec = recipe_graph(load_recipe(recipe), source=("image_source", {"path": image, "frames": frames}),
                        sink=sink)
    stats = run_graph(spec)
    out = stats.frames_out()
    return {"frames": out, "ms_per_frame": 1000 * stats.seconds / max(out, 1),
            "node_ms_p50": {n.id: float(np.median(list(n.process_ns)) / 1e6)
                            for n in stats.nodes.values() if n.process_ns}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipes", default="blur,poster,stencil")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--mp4", action="store_true", help="write an MP4 (libx264) instead of a null sink")
    parser.add_argument("--rounds", type=int, default=3, help="runs per size: the median is printed")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        recipe, image, mp4 = json.loads(args.child)
        print(json.dumps(one_run(recipe, image, args.frames, mp4)))
        return
    import cv2

    with tempfile.TemporaryDirectory(prefix="pf-bench-resolution-") as tmp:
        images = {}
        photo = cv2.imread(str(PHOTO))
        for name, size in SIZES.items():
            images[name] = str(Path(tmp) / f"{name}.png")
            cv2.imwrite(images[name], cv2.resize(photo, size, interpolation=cv2.INTER_CUBIC))
        sink = "MP4 (libx264)" if args.mp4 else "null sink"
        print(f"standard chain, output at the input's size, {args.frames} frames, {sink}; "
              f"measured on a shared, loaded 2-core machine")
        for recipe in args.recipes.split(","):
            base = None
            for name in SIZES:
                mp4 = str(Path(tmp) / f"{recipe}-{name}.mp4") if args.mp4 else None
                rounds = []
                for _ in range(args.rounds):
                    proc = subprocess.run([sys.executable, __file__, "--frames", str(args.frames),
                                           "--child", json.dumps([recipe, images[name], mp4])],
                                          check=True, capture_output=True, text=True)
                    rounds.append(json.loads(proc.stdout.strip().splitlines()[-1]))
                rounds.sort(key=lambda r: r["ms_per_frame"])
                r = rounds[len(rounds) // 2]
                spread = f"[{rounds[0]['ms_per_frame']:.1f}-{rounds[-1]['ms_per_frame']:.1f}]"
                base = base or r["ms_per_frame"]
                nodes = r["node_ms_p50"]
                detail = "  ".join(f"{k} {nodes[k]:.1f}" for k in NODES if k in nodes)
                ratio = r["ms_per_frame"] / base
                print(f"{recipe:<8} {name:>5}: {r['ms_per_frame']:6.1f} ms/frame {spread:>13} "
                      f"({ratio:4.2f}x 720p)   node p50 ms: {detail}")


if __name__ == "__main__":
    main()
