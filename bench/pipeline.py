"""Figures for the whole chain: ms per 1280x720 frame (one core, two cores), frames/s, and
capture->sink latency p50/p99 under 30 fps live pacing. Prints; asserts nothing.

Not for: tests. Run: `python bench/pipeline.py [--recipe blur] [--frames 300]`.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys


def one_run(recipe: str, frames: int, cores: int, realtime: bool) -> dict:
    import cv2

    from portraitflow.devices.endpoints import sink_for, source_for
    from portraitflow.graph.runner import run_graph
    from portraitflow.recipes.loader import load_recipe, recipe_graph

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:cores]))
    cv2.setNumThreads(cores)
    source = source_for("sample")
    source[1].update(frames=frames, realtime=realtime)
    spec = recipe_graph(load_recipe(recipe), source=source, sink=sink_for("null"))
    if realtime:
        spec.policy = "latest"
    stats = run_graph(spec)
    out = stats.frames_out()
    return {"cores": cores, "realtime": realtime, "frames": out, "seconds": stats.seconds,
            "ms_per_frame": 1000 * stats.seconds / max(out, 1), "fps": out / stats.seconds,
            "latency_p50_ms": stats.latency_ms(50), "latency_p99_ms": stats.latency_ms(99),
            "dropped": stats.dropped,
            "node_ms_p50": {n.id: float(__import__("numpy").median(list(n.process_ns)) / 1e6)
                            for n in stats.nodes.values() if n.process_ns}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipe", default="blur")
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        cores, realtime = args.child.split(",")
        print(json.dumps(one_run(args.recipe, args.frames, int(cores), realtime == "1")))
        return
    # warm the model cache once so no run pays for fetching
    subprocess.run([sys.executable, __file__, "--recipe", args.recipe, "--frames", "5", "--child", "2,0"],
                   check=True, capture_output=True)
    print(f"recipe {args.recipe}, sample 1280x720, {args.frames} frames")
    for cores, realtime in [(1, False), (2, False), (2, True)]:
        proc = subprocess.run([sys.executable, __file__, "--recipe", args.recipe, "--frames", str(args.frames),
                               "--child", f"{cores},{int(realtime)}"], check=True, capture_output=True, text=True)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        mode = "live 30 fps" if realtime else "as fast as possible"
        print(f"{cores} core(s), {mode}: {r['ms_per_frame']:.2f} ms/frame, {r['fps']:.1f} fps, "
              f"latency p50 {r['latency_p50_ms']:.1f} ms p99 {r['latency_p99_ms']:.1f} ms, dropped {r['dropped']}")
        print("   per node p50 ms: " + ", ".join(f"{k} {v:.2f}" for k, v in r["node_ms_p50"].items()))


if __name__ == "__main__":
    main()
