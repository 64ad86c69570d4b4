"""Mask quality and cost figures for issue 4: flicker, lag, boundary F, IoU, ms per 720p frame.

Not for: tests (nothing is asserted). Run: .venv/bin/python bench/quality.py [--cache-dir DIR]
Uses the real landscape/general models (fetched into the cache on first use) and the repo's fixtures.
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

from portraitflow.evaluation import clips, metrics, truth
from portraitflow.models.fetch import ensure_model
from portraitflow.models.segmenter import Segmenter
from portraitflow.nodes.default_chain import refine_still
from portraitflow.nodes.fringe import EdgeRefiner
from portraitflow.nodes.guided_upsample import bilinear_upsample
from portraitflow.nodes.smooth import SmoothOptions, TemporalSmoother

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "mediapipe_parity"
PHOTOS = {"astronaut_512": ("selfie_general", "selfie_segmentation"),
          "camera_512": ("selfie_general", "selfie_segmentation"),
          "astronaut_in_coffee_1280x720": ("selfie_landscape", "selfie_segmentation_landscape")}


def smooth_all(raw, frames, **options):
    smoother = TemporalSmoother(SmoothOptions(**options))
    return [smoother(m, f) for m, f in zip(raw, frames)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--frames", type=int, default=30)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    segmenters = {}
    for name in ("selfie_general", "selfie_landscape"):
        model = ensure_model(name, args.cache_dir)
        segmenters[name] = Segmenter(model.manifest, model.onnx_path)
    photo = cv2.imread(str(FIXTURES / "astronaut_in_coffee_1280x720.png"))
    background = cv2.imread(str(FIXTURES / "coffee_noperson_600x400.png"))
    seg = segmenters["selfie_landscape"]

    print("== temporal (astronaut_in_coffee 1280x720, selfie_landscape) ==")
    still = clips.jittered_still(photo, n_frames=args.frames, seed=5)
    raw = [seg(f) for f in still.frames]
    offsets = still.offsets_at(raw[0].shape[1], raw[0].shape[0])
    f_raw = metrics.temporal_flicker(raw, offsets)
    for label, options in (("smoothed (default: flow)", {}), ("smoothed (motion=none)", {"motion": "none"})):
        f_s = metrics.temporal_flicker(smooth_all(raw, still.frames, **options), offsets)
        print(f"flicker, jittered still: raw {f_raw:.5f}  {label} {f_s:.5f}  "
              f"({100 * (1 - f_s / f_raw):.0f}% lower)")
    masks = np.load(FIXTURES / "astronaut_in_coffee_1280x720.mediapipe_masks.npz")
    alpha = truth.detailed_truth(masks["selfie_segmentation_landscape__full"], wobble_px=0.0)
    for speed in (4.0, 8.0, 16.0):
        moving = clips.translating_clip(photo, alpha, background, n_frames=16, velocity_xy=(speed, 0.0))
        raw_m = [seg(f) for f in moving.frames]
        h, w = raw_m[0].shape
        reference = cv2.resize(alpha, (w, h), interpolation=cv2.INTER_AREA)
        offs = moving.offsets_at(w, h)
        lags = {label: metrics.lag_in_frames(m, reference, offs) for label, m in (
            ("raw", raw_m), ("smoothed", smooth_all(raw_m, moving.frames)),
            ("motion=none", smooth_all(raw_m, moving.frames, motion="none")))}
        print(f"lag, person moving {speed:g} px/frame: " + "  ".join(f"{k} {v:.2f}" for k, v in lags.items())
              + " frames")

    print("\n== spatial: composites with constructed truth (evaluation/truth.py), boundary F at 2 px ==")
    print(f"{'photo':<30} {'input':<10} {'BF raw':>7} {'BF fringe':>9} {'IoU raw':>8} {'IoU default':>11}")
    table = []
    for name, (model_name, npz_key) in PHOTOS.items():
        image = cv2.imread(str(FIXTURES / f"{name}.png"))
        npz = np.load(FIXTURES / f"{name}.mediapipe_masks.npz")
        true_mask = truth.detailed_truth(npz[f"{npz_key}__full"], seed=1)
        frame = clips.composite_with_truth(image, true_mask, background)
        h, w = frame.shape[:2]
        inputs = {"model": segmenters[model_name](frame), "mediapipe": npz[f"{npz_key}__modelsize"]}
        for label, low in inputs.items():
            bil, ours = bilinear_upsample(low, h, w), refine_still(frame, low)
            row = (metrics.boundary_f(bil, true_mask), metrics.boundary_f(ours, true_mask),
                   metrics.iou(bil, true_mask), metrics.iou(ours, true_mask))
            table.append((label, row))
            print(f"{name:<30} {label:<10} {row[0]:7.3f} {row[1]:9.3f} {row[2]:8.3f} {row[3]:11.3f}")
    for label in ("model", "mediapipe"):
        rows = np.array([r for lab, r in table if lab == label])
        print(f"{'mean':<30} {label:<10} {rows[:, 0].mean():7.3f} {rows[:, 1].mean():9.3f} "
              f"{rows[:, 2].mean():8.3f} {rows[:, 3].mean():11.3f}")

    print("\n== cost per 1280x720 frame, one OpenCV thread (median of 5 rounds x 100 frames) ==")
    low = seg(photo)
    smoother = TemporalSmoother()
    refiner = EdgeRefiner()
    frames = still.frames[:10]
    timings = {"smooth": [], "fringe": [], "smooth+fringe": []}
    for _ in range(5):
        for key, runs in timings.items():
            start = time.perf_counter()
            for i in range(100):
                frame = frames[i % len(frames)]
                if key == "smooth":
                    smoother(low, frame)
                elif key == "fringe":
                    refiner.refine(frame, low)
                else:
                    refiner.refine(frame, smoother(low, frame))
            runs.append((time.perf_counter() - start) * 10.0)
    for key, values in timings.items():
        print(f"{key:<14} {statistics.median(values):6.2f} ms  [{min(values):.2f}-{max(values):.2f}]")


if __name__ == "__main__":
    main()
