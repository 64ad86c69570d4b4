"""`portraitflow mask IMAGE... -o DIR [--model NAME] [--raw] [--npy]`: one mask per image, at its size.

Not for: video or live use (`portraitflow run`). This command's flags are a stable contract that
evaluations rely on: --raw is the model's probability stretched bilinearly, nothing else; without it
the project's default refinement (nodes/default_chain.refine_still).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ..graph.errors import ConfigError, DeviceError, PortraitflowError
from .flags import int_in


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "mask", help="write a person mask for each image (PNG, or float32 .npy)",
        description="Segment each image and write DIR/<stem>.png (8-bit, 255 = person) at the image's "
                    "own size, or DIR/<stem>.npy (float32 in [0, 1]) with --npy. A bad image is "
                    "reported and skipped; the others are still written.")
    parser.add_argument("images", nargs="+", metavar="IMAGE")
    parser.add_argument("-o", "--out", required=True, metavar="DIR", help="output folder (created)")
    parser.add_argument("--model", default="auto",
                        help="model name, or auto: landscape for images wider than 4:3 (default: auto)")
    parser.add_argument("--raw", action="store_true",
                        help="the model's probability upscaled bilinearly, with no refinement")
    parser.add_argument("--npy", action="store_true", help="write float32 .npy instead of 8-bit PNG")
    parser.add_argument("--threads", type=int_in(1, 64), default=2, help="onnxruntime threads (default: 2)")
    parser.set_defaults(func=run_mask)


class _MaskMaker:
    """frame -> mask at frame size, loading each model once; the default chain gates the model's mask
    with the second model (nodes/segment.py), --raw is the model's own mask."""

    def __init__(self, model: str, raw: bool, threads: int):
        from ..nodes.segment import GATE_AUTO, GATE_NONE, FrameSegmenter

        self.raw = raw
        # --raw is MediaPipe's own mask: no gate, and no frame-edge extension either
        # gate_every 1: every image is its own scene, so no image is gated with another one's gate
        self.segmenter = FrameSegmenter(model, threads=threads, gate_model=GATE_NONE if raw else GATE_AUTO,
                                        frame_edges="keep" if raw else "auto", gate_every=1)

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        import cv2

        model_mask = self.segmenter(frame)[0]
        if self.raw:
            h, w = frame.shape[:2]
            return cv2.resize(model_mask, (w, h), interpolation=cv2.INTER_LINEAR)
        from ..nodes.default_chain import refine_still  # the default chain lives with the nodes
        return refine_still(frame, model_mask)


def _read_image(path: Path) -> np.ndarray:
    import cv2
    if not path.is_file():
        raise DeviceError(f"{path}: no such image file")
    frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if frame is None:
        raise DeviceError(f"{path}: not a readable image (OpenCV could not decode it)")
    return frame


def _write_mask(mask: np.ndarray, out_dir: Path, stem: str, npy: bool) -> Path:
    import cv2
    if npy:
        target = out_dir / f"{stem}.npy"
        np.save(target, mask.astype(np.float32, copy=False))
    else:
        target = out_dir / f"{stem}.png"
        eight_bit = np.rint(np.clip(mask, 0.0, 1.0) * np.float32(255)).astype(np.uint8)
        if not cv2.imwrite(str(target), eight_bit):
            raise DeviceError(f"{target}: could not write the PNG")
    return target


def run_mask(args: argparse.Namespace) -> int:
    if args.threads < 1:
        raise ConfigError(f"--threads must be at least 1, got {args.threads}")
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    stems: dict[str, Path] = {}
    for image in args.images:
        stem = Path(image).stem
        if stem in stems:
            raise ConfigError(f"{image} and {stems[stem]} would both write {stem}: rename one")
        stems[stem] = Path(image)
    make_mask = _MaskMaker(args.model, args.raw, args.threads)
    failures = []
    for stem, path in stems.items():
        try:
            target = _write_mask(make_mask(_read_image(path)), out_dir, stem, args.npy)
        except PortraitflowError as exc:  # report, and still write the other images
            failures.append(exc)
            print(f"portraitflow mask: error: {exc}", file=sys.stderr)
            continue
        print(target)
    if failures:
        print(f"portraitflow mask: {len(failures)} of {len(stems)} images failed", file=sys.stderr)
        return max(f.exit_code for f in failures)
    return 0
