"""What the models' input tensor costs: the Segmenter's OpenCV path (cv2.remap with fixed-point maps,
cvtColor, np.multiply) against the compiled pass the segment node hands it (nodes/model_input_pass.c), per
call, on the sample's 720p frames (a fresh copy each, as a chain's frames arrive), in one run. Prints;
asserts nothing.

Not for: the chain's figures (bench/chain.py, bench/hotspots.py) or tests
(tests/nodes/test_model_input_pass.py checks that both give the same tensor). Run:
    python bench/model_input.py [--frames 150] [--rounds 5]
Cases: the primary model on the 720p frame, the gate model on its letterboxed 256x256 input (the identity)
and on a 640x480 frame (a 4:3 stream's primary). Then the blur chain's segment node, nodes called in
sequence (bench/chain.py's SequentialChain): its thread CPU per frame outside onnxruntime's run, with its
Segmenters' input pass and without. Thread CPU on core 0, rounds alternating the two paths, medians over
rounds.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import chain as bench_chain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from portraitflow.models.fetch import ensure_model
    from portraitflow.models.segmenter import Segmenter
    from portraitflow.nodes.frame_passes import compiled
    from portraitflow.nodes.segment import compiled_input_pass
    from portraitflow.nodes.shared_shrink import shrink_twice_then_area

    if compiled is None:
        sys.exit("bench/model_input.py: the compiled passes are off (not built, or PORTRAITFLOW_COMPILED=0)")
    bench_chain.pin(1)
    frames = bench_chain.make_frames(args.frames, None)
    boxed = [cv2.copyMakeBorder(shrink_twice_then_area(f, (256, 144)), 56, 56, 0, 0, cv2.BORDER_CONSTANT,
                                value=0) for f in frames]
    small = [cv2.resize(f, (640, 480), interpolation=cv2.INTER_AREA) for f in frames]
    cases = [("selfie_landscape", "720p frame", frames), ("selfie_general", "letterboxed 256x256", boxed),
             ("selfie_general", "640x480 frame", small)]
    print(f"bench/model_input.py: thread CPU ms per call, medians of {args.rounds} alternating rounds of "
          f"{args.frames} frames, one core; measured on a shared 2-core machine")
    print(f"{'model':<18}{'input':<22}{'OpenCV path':>12}{'pass':>8}{'ratio':>8}")
    for name, what, inputs in cases:
        model = ensure_model(name)
        paths = {"opencv": Segmenter(model.manifest, model.onnx_path),
                 "pass": Segmenter(model.manifest, model.onnx_path, input_pass=compiled_input_pass)}
        rounds: dict[str, list[float]] = {key: [] for key in paths}
        for segmenter in paths.values():   # warm up: maps, buffers, caches
            for frame in inputs[:10]:
                segmenter.prepare(frame)
        for _ in range(args.rounds):
            for key, segmenter in paths.items():
                spent = 0
                for frame in inputs:
                    fresh = frame.copy()
                    start = time.thread_time_ns()
                    segmenter.prepare(fresh)
                    spent += time.thread_time_ns() - start
                rounds[key].append(spent / len(inputs) / 1e6)
        opencv, fused = statistics.median(rounds["opencv"]), statistics.median(rounds["pass"])
        print(f"{name:<18}{what:<22}{opencv:>12.3f}{fused:>8.3f}{opencv / fused:>7.1f}x")
    segment_node_outside_onnxruntime(frames, args.rounds)
    print(f"numpy {np.__version__}, opencv {cv2.__version__}")


def segment_node_outside_onnxruntime(frames: np.ndarray, rounds: int) -> None:
    """The blur chain's segment node per frame, and the part of it outside onnxruntime's run, with the
    input pass and with the OpenCV path (the node's own Segmenters, their pass taken away and put back)."""
    import onnxruntime

    from portraitflow.nodes.segment import compiled_input_pass

    in_run = [0]
    run = onnxruntime.InferenceSession.run

    def timed_run(session, *args, **kwargs):
        start = time.thread_time_ns()
        try:
            return run(session, *args, **kwargs)
        finally:
            in_run[0] += time.thread_time_ns() - start

    onnxruntime.InferenceSession.run = timed_run
    bench_chain.register_memory_source(frames)
    chain = bench_chain.SequentialChain("blur")
    node = next(n for rn, n in chain.nodes if rn.id == "segment")
    for frame in frames[:10]:   # both sessions loaded
        chain(frame, {})
    results: dict[str, list[tuple[float, float]]] = {"opencv": [], "pass": []}
    for _ in range(rounds):
        for key in results:
            for segmenter in node._segment._segmenters.values():
                segmenter.input_pass = compiled_input_pass if key == "pass" else None
            in_run[0] = 0
            spent: dict[str, list[int]] = {}
            for frame in frames:
                chain(frame.copy(), spent)
            node_ms = sum(spent["segment"]) / len(frames) / 1e6
            results[key].append((node_ms, node_ms - in_run[0] / len(frames) / 1e6))
    onnxruntime.InferenceSession.run = run
    print(f"\nthe blur chain's segment node, ms per 720p frame (medians of {rounds} alternating rounds)")
    print(f"{'input tensor':<22}{'node':>8}{'outside onnxruntime':>21}")
    for key, label in (("opencv", "OpenCV path"), ("pass", "compiled pass")):
        node_ms = statistics.median(r[0] for r in results[key])
        outside = statistics.median(r[1] for r in results[key])
        print(f"{label:<22}{node_ms:>8.3f}{outside:>21.3f}")


if __name__ == "__main__":
    main()
