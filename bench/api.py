"""Figures for the Python API: what `import portraitflow` and `portraitflow --help` cost, and what handing
frames to a Python loop costs against a null sink (720p sample frames, and the blur recipe end to end).
Prints; asserts nothing.

Not for: tests. Run: `python bench/api.py [--frames 300] [--rounds 3]`.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def startup_s(code: str, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def null_sink_fps(graph, address: str, frames: int) -> float:
    import portraitflow as pf
    spec = graph()
    spec.add("bench_out", "null_sink").connect(address, "bench_out.frame")
    start = time.perf_counter()
    pf.run(spec, max_frames=frames)
    return frames / (time.perf_counter() - start)


def stream_fps(graph, address: str, frames: int) -> float:
    import portraitflow as pf
    start = time.perf_counter()
    count = 0
    for _ in pf.stream(graph(), address, policy="block", max_frames=frames):
        count += 1
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    import portraitflow as pf

    cheap = startup_s("import portraitflow", args.rounds)
    bare = startup_s("import sys", args.rounds)
    print(f"python -c 'import portraitflow'      {cheap * 1e3:7.1f} ms")
    print(f"python -c 'import sys' (interpreter)  {bare * 1e3:7.1f} ms")
    help_code = "from portraitflow.cli.main import build_parser; build_parser().format_help()"
    print(f"portraitflow --help (parser built)    {startup_s(help_code, args.rounds) * 1e3:7.1f} ms")

    def sample():
        return pf.GraphSpec(name="sample").add("capture", "sample_source", frames=args.frames)

    def blur():
        spec = pf.recipe_graph("blur", input="sample", output="null")
        del spec.nodes["output"]
        spec.edges = [e for e in spec.edges if e.target != "output"]
        return spec

    cases = (("sample 720p", sample, "capture.frame"), ("blur recipe", blur, "composite.frame"))
    for name, graph, address in cases:
        rows = [(null_sink_fps(graph, address, args.frames), stream_fps(graph, address, args.frames))
                for _ in range(args.rounds)]   # alternating rounds: the same machine load for both
        sink, loop = statistics.median(r[0] for r in rows), statistics.median(r[1] for r in rows)
        print(f"{name:<12} frames/s: null_sink {sink:7.1f}   stream() to a Python loop {loop:7.1f}")


if __name__ == "__main__":
    main()
