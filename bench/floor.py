"""The least a blur chain can cost with this project's libraries (issue 17's floor): the crudest blur that
still looks like one, in the fewest OpenCV/numpy passes found, step by step, per 720p frame on one core,
beside MediaPipe's segmentation alone when another interpreter has it. Prints; asserts nothing.

Not for: the product's figures (bench/chain.py) or tests. Run:
    python bench/floor.py [--frames 150] [--rounds 5] [--mediapipe-python PATH]
The crude chain: the primary model on a direct bilinear shrink (no gate model, no MediaPipe warp), its mask
made 8-bit at model size and stretched bilinearly to the frame (no smoothing, no guided edge, no feather),
a background shrunk 4x by two exact 2x area steps, box-blurred there and grown back bilinearly, one
alpha blend (nodes/looks/blend.py). What it leaves out is what the product's quality needs; what it keeps
cannot be left out of any blur: so whatever it costs, the product's chain costs more.
CPU time on core 0 (thread CPU per step, process CPU for MediaPipe), one OpenCV and one onnxruntime thread,
medians over rounds that alternate with MediaPipe's.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import chain as bench_chain


class CrudeBlur:
    """The crude chain's steps, each timed: name -> thread CPU ns per call."""

    def __init__(self):
        import cv2

        from portraitflow.models.fetch import ensure_model
        from portraitflow.models.segmenter import Segmenter
        from portraitflow.nodes.looks.scratch import Scratch
        self.cv2 = cv2
        model = ensure_model("selfie_landscape")
        self.segmenter = Segmenter(model.manifest, model.onnx_path, threads=1)
        self.scratch = Scratch()
        self.times: dict[str, list[int]] = {}

    def _timed(self, name: str, fn, *args, **kwargs):
        start = time.thread_time_ns()
        result = fn(*args, **kwargs)
        self.times.setdefault(name, []).append(time.thread_time_ns() - start)
        return result

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        from portraitflow.nodes.looks.blend import alpha_blend
        cv2, t = self.cv2, self._timed
        h, w = frame.shape[:2]
        model_w, model_h = self.segmenter.size
        small = t("model input: bilinear shrink", cv2.resize, frame, (model_w, model_h),
                  interpolation=cv2.INTER_LINEAR)
        mask = t("model: prepare + onnxruntime", self.segmenter, small)
        alpha_small = t("mask to 8 bits (model size)", cv2.convertScaleAbs, mask, alpha=255.0)
        alpha = t("mask stretched to the frame", cv2.resize, alpha_small, (w, h),
                  interpolation=cv2.INTER_LINEAR)
        half = t("background: 2x area shrink", cv2.resize, frame, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        quarter = t("background: 2x area shrink again", cv2.resize, half, (w // 4, h // 4),
                    interpolation=cv2.INTER_AREA)
        blurred = t("background: box blur at 1/4", cv2.blur, quarter, (9, 9))
        background = t("background: grown to the frame", cv2.resize, blurred, (w, h), interpolation=cv2.INTER_LINEAR)
        return t("alpha blend", alpha_blend, frame, background, alpha, scratch=self.scratch)


def one_core(args, frames: np.ndarray) -> dict:
    bench_chain.pin(1)
    mediapipe = bench_chain.MediaPipeChild(args.mediapipe_python, frames, args.tmp) \
        if args.mediapipe_python else None
    crude = CrudeBlur()
    for f in frames[:10]:
        crude(f)
    steps: dict[str, list[float]] = {}
    totals, mp_rounds = [], []
    for _ in range(args.rounds):
        crude.times.clear()
        start = time.thread_time_ns()
        for f in frames:
            crude(f)
        totals.append((time.thread_time_ns() - start) / 1e6 / len(frames))
        for name, ns in crude.times.items():
            steps.setdefault(name, []).append(sum(ns) / len(ns) / 1e6)
        if mediapipe is not None:
            mp_rounds.append(mediapipe.round_ms())
    if mediapipe is not None:
        mediapipe.close()
    return {"steps": {k: statistics.median(v) for k, v in steps.items()}, "total": statistics.median(totals),
            "total_range": [min(totals), max(totals)],
            "mediapipe_ms": statistics.median(mp_rounds) if mp_rounds else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clip", help="a video file instead of the bundled sample (scaled to 1280x720)")
    parser.add_argument("--mediapipe-python", help="a Python with mediapipe 0.10.14, for its figure beside ours")
    args = parser.parse_args()
    frames = bench_chain.make_frames(args.frames, args.clip)
    with tempfile.TemporaryDirectory() as tmp:
        args.tmp = tmp
        result = one_core(args, frames)
    print(f"bench/floor.py: the crudest blur chain, {len(frames)} frames 1280x720, one core, CPU ms a frame")
    for name, ms in result["steps"].items():
        print(f"  {ms:6.3f}  {name}")
    low, high = result["total_range"]
    print(f"  {result['total']:6.3f}  whole crude chain (rounds {low:.3f}-{high:.3f})")
    mp = result["mediapipe_ms"]
    if mp is not None:
        print(f"  {mp:6.3f}  MediaPipe SelfieSegmentation(model_selection=1).process() alone, same run")
        print(f"  ratio crude chain / MediaPipe: {result['total'] / mp:.2f}x")
    else:
        print("  (no --mediapipe-python: MediaPipe's figure not taken)")


if __name__ == "__main__":
    main()
