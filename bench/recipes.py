"""Print ms per 1280x720 frame for each recipe's composite on one core, and write the gallery PNG.

Not for: tests (nothing is asserted). Run: .venv/bin/python bench/recipes.py [--frames N] [-o gallery.png]
The composite runs as the node does in a graph (Composite.process), with MediaPipe's reference mask.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from portraitflow.graph import Context, Packet
from portraitflow.graph.testing import make_node
from portraitflow.nodes.composite import Composite
from portraitflow.recipes.loader import apply_settings, list_recipes, load_recipe
from portraitflow.recipes.still import render_gallery

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "mediapipe_parity"
GOAL_MS = 5.0


def time_recipe(name: str, frame: np.ndarray, mask: np.ndarray, frames: int) -> tuple[float, float]:
    recipe = load_recipe(name)
    options = {**recipe.node_options.get("composite", {}), "look": recipe.look,
               "settings": apply_settings(recipe, None)}
    node = make_node(Composite, options, "composite")
    ctx = Context("composite", lambda port, packet: None)
    node.open(ctx)
    samples = []
    for i in range(frames + 5):
        ts = 1_000_000_000 + i * 33_333_333
        ctx.inputs = {"frame": Packet(frame, ts, i), "mask": Packet(mask, ts, i)}
        start = time.perf_counter()
        node.process(ctx)
        if i >= 5:   # the first frames build plates, type and assets
            samples.append((time.perf_counter() - start) * 1000)
    node.close(ctx)
    return float(np.median(samples)), float(np.percentile(samples, 90))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("-o", "--output", default="gallery.png")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    frame = cv2.imread(str(FIXTURES / "astronaut_in_coffee_1280x720.png"), cv2.IMREAD_COLOR)
    mask = np.load(FIXTURES / "astronaut_in_coffee_1280x720.mediapipe_masks.npz")["selfie_segmentation__full"]
    print(f"composite per 1280x720 frame, 1 OpenCV thread, {args.frames} frames (goal <= {GOAL_MS} ms)")
    print(f"{'recipe':<16} {'look':<16} {'median ms':>10} {'p90 ms':>8}")
    for name in list_recipes():
        median, p90 = time_recipe(name, frame, mask, args.frames)
        flag = "" if median <= GOAL_MS else "  over goal"
        print(f"{name:<16} {load_recipe(name).look:<16} {median:>10.2f} {p90:>8.2f}{flag}")
    start = time.perf_counter()
    path = render_gallery([load_recipe(n) for n in list_recipes()], args.output)
    print(f"gallery: {path} ({time.perf_counter() - start:.1f} s through the graph)")


if __name__ == "__main__":
    main()
