"""The Python API, notebook style: build a recipe's graph, iterate over its frames and masks, stop early.

Run it:  python examples/api_stream.py [--input sample|VIDEO|camera] [--frames 30] [--out last.png]
Each line shows a frame's index, its media time, its size and how much of it is the person (from the
fringe's mask, the one the composite draws with). Leaving the loop stops the graph cleanly.
"""
from __future__ import annotations

import argparse

import numpy as np

import portraitflow as pf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", default="sample", help="sample (default), a video path, camera")
    parser.add_argument("--recipe", default="blur", help=f"one of {', '.join(pf.list_recipes())}")
    parser.add_argument("--frames", type=int, default=30, help="stop after this many frames")
    parser.add_argument("--out", help="write the last designed frame to this .png")
    args = parser.parse_args()

    # 1. a graph: the recipe's chain between the input and a sink that keeps nothing
    graph = pf.recipe_graph(args.recipe, input=args.input, output="null")

    # 2. the person masks, as numpy float32 arrays in [0, 1]; `break` stops the graph
    first_ts = None
    for index, packet in enumerate(pf.stream(graph, "fringe.mask")):
        mask = packet.payload
        first_ts = packet.capture_ts_ns if first_ts is None else first_ts
        seconds = (packet.capture_ts_ns - first_ts) / 1e9
        print(f"mask {index:3d}  t={seconds:6.3f} s  {mask.shape[1]}x{mask.shape[0]}  "
              f"person {float(mask.mean()):5.1%}")
        if index + 1 >= args.frames:
            break

    # 3. the designed frames (uint8 BGR), here with a bounded 'latest' edge: a slow loop sees the newest
    last = None
    with pf.stream(graph, "composite.frame", policy="latest", max_frames=args.frames) as frames:
        for packet in frames:
            last = packet.payload
    print(f"{frames.stats.frames_in()} frames in, {frames.stats.dropped} dropped on the way to Python")
    if args.out and last is not None:
        import cv2  # the frames are BGR, as OpenCV writes them
        if not cv2.imwrite(args.out, np.ascontiguousarray(last)):
            raise SystemExit(f"could not write {args.out}")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
