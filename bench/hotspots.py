"""Where a recipe's chain spends its CPU, call site by call site: every OpenCV function, onnxruntime's run and
the numpy calls that touch whole frames, timed (thread CPU) at the line that calls them, per 720p frame on one core, beside
each node's own total. What profiling with cProfile cannot show: it attributes numpy's work to the caller
and names no line. Prints; asserts nothing.

Not for: the figures the issue asks for (bench/chain.py) or tests. Run:
    python bench/hotspots.py [--recipe blur] [--frames 100] [--top 40] [--clip FILE] [--still]
The chain's nodes are called in sequence on this thread (bench/chain.py's SequentialChain), after 10
warm-up frames; the wrappers add about a microsecond a call, so only call sites above ~0.01 ms count.
"""
from __future__ import annotations

import argparse
import collections
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import chain as bench_chain

NUMPY_CALLS = ("clip", "multiply", "minimum", "maximum", "copyto", "ascontiguousarray", "subtract", "add")


def wrap_calls(module, names, acc: dict) -> None:
    """Replace ``module.name`` by a wrapper that adds its thread CPU to ``acc[(name, caller's file:line)]``."""
    for name in names:
        fn = getattr(module, name)

        def timed(*args, __fn=fn, __name=name, **kwargs):
            start = time.thread_time_ns()
            result = __fn(*args, **kwargs)
            spent = time.thread_time_ns() - start
            caller = sys._getframe(1)
            key = f"{__name:<18} {os.path.basename(caller.f_code.co_filename)}:{caller.f_lineno}"
            acc[key][0] += spent
            acc[key][1] += 1
            return result

        setattr(module, name, timed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="blur")
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--clip", default=None, help="a video file instead of the sample's frames")
    parser.add_argument("--still", action="store_true", help="a still scene (the first frame + fresh noise)")
    args = parser.parse_args()
    import cv2
    import numpy as np

    bench_chain.pin(1)
    frames = bench_chain.make_frames(args.frames, args.clip)
    if args.still:
        frames = bench_chain.still_scene(frames)
    bench_chain.register_memory_source(frames)
    chain = bench_chain.SequentialChain(args.recipe)
    for frame in frames[:10]:
        chain(frame, {})
    acc: dict = collections.defaultdict(lambda: [0, 0])
    opencv = [n for n in dir(cv2) if callable(getattr(cv2, n)) and not isinstance(getattr(cv2, n), type)
              and n[0].isalpha() and n not in ("setNumThreads", "getNumThreads")]
    wrap_calls(cv2, opencv, acc)
    wrap_calls(np, NUMPY_CALLS, acc)
    from portraitflow.nodes.frame_passes import compiled
    if compiled is not None:   # the compiled passes too (callers look them up on the module at each call)
        wrap_calls(compiled, [n for n in dir(compiled) if callable(getattr(compiled, n)) and n[0].isalpha()], acc)
    import onnxruntime
    wrap_calls(onnxruntime.InferenceSession, ["run"], acc)   # the models, by the line that runs them
    node_ns: dict[str, list[int]] = {}
    for frame in frames:
        chain(frame.copy(), node_ns)
    count = len(frames)
    print(f"bench/hotspots.py: recipe {args.recipe}, {count} frames {frames.shape[2]}x{frames.shape[1]}"
          f"{' (still scene)' if args.still else ''}, one core, thread CPU ms per frame; measured on a "
          f"shared 2-core machine")
    print("nodes: " + ", ".join(f"{k} {sum(v) / len(v) / 1e6:.2f}" for k, v in node_ns.items()))
    print(f"{'ms/frame':>9} {'calls':>6}  call site")
    for key, (ns, calls) in sorted(acc.items(), key=lambda kv: -kv[1][0])[:args.top]:
        print(f"{ns / count / 1e6:9.3f} {calls / count:6.1f}  {key}")


if __name__ == "__main__":
    main()
