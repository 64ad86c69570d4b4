"""Score a folder of photos against their ground-truth masks: pair files by stem, run a chain, tabulate.

Not for: the command line (cli/eval.py) or the metrics (evaluation/metrics.py).
Truth masks: PNG/JPEG/BMP greyscale (person >= 128) or .npy float arrays in [0, 1]; named like the photo.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..graph.errors import ConfigError, DeviceError
from ..nodes.default_chain import refine_still
from ..nodes.guided_upsample import bilinear_upsample
from . import metrics

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
MASK_SUFFIXES = IMAGE_SUFFIXES + (".npy",)
CHAINS = ("raw", "default")


@dataclass(frozen=True)
class ImageScore:
    stem: str
    iou: float
    boundary_f: float
    image_bgr: np.ndarray
    truth: np.ndarray
    ours: np.ndarray


def pair_files(images_dir: str | Path, masks_dir: str | Path) -> list[tuple[str, Path, Path]]:
    """(stem, image, mask) for every photo with a mask of the same stem; raises ConfigError when a
    folder is missing or nothing pairs (naming what was found)."""
    images_dir, masks_dir = Path(images_dir), Path(masks_dir)
    for label, folder in (("--images", images_dir), ("--masks", masks_dir)):
        if not folder.is_dir():
            raise ConfigError(f"{label}: {folder} is not a folder")
    masks = {p.stem: p for p in sorted(masks_dir.iterdir()) if p.suffix.lower() in MASK_SUFFIXES}
    images = [p for p in sorted(images_dir.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]
    pairs = [(p.stem, p, masks[p.stem]) for p in images if p.stem in masks]
    if not pairs:
        raise ConfigError(f"no photo in {images_dir} ({len(images)} images) has a mask of the same stem in "
                          f"{masks_dir} ({len(masks)} masks)")
    return pairs


def load_image(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise DeviceError(f"cannot read image {path}")
    return image


def load_truth(path: Path, shape: tuple[int, int]) -> np.ndarray:
    """A float32 mask in [0, 1]; raises ConfigError when it is unreadable or not the photo's size."""
    if path.suffix.lower() == ".npy":
        truth = np.load(path).astype(np.float32)
    else:
        grey = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if grey is None:
            raise DeviceError(f"cannot read mask {path}")
        truth = grey.astype(np.float32) / 255.0
    if truth.shape != shape:
        raise ConfigError(f"mask {path} is {truth.shape[1]}x{truth.shape[0]} but its photo is "
                          f"{shape[1]}x{shape[0]}")
    return truth


def chain_function(chain: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """frame, model-resolution mask -> frame-size mask, for a chain name."""
    if chain == "raw":
        return lambda frame, mask: bilinear_upsample(mask, frame.shape[0], frame.shape[1])
    if chain == "default":
        return refine_still
    raise ConfigError(f"unknown chain {chain!r} (expected {' or '.join(CHAINS)})", field="chain")


def score_folder(pairs: list[tuple[str, Path, Path]], segment: Callable[[np.ndarray], np.ndarray],
                 chain: str = "default", tolerance_px: float = 2.0) -> list[ImageScore]:
    """Run ``segment`` (frame -> model-resolution mask) and the chain on every pair and score it."""
    refine = chain_function(chain)
    scores = []
    for stem, image_path, mask_path in pairs:
        image = load_image(image_path)
        truth = load_truth(mask_path, image.shape[:2])
        ours = refine(image, segment(image))
        scores.append(ImageScore(stem, metrics.iou(ours, truth),
                                 metrics.boundary_f(ours, truth, tolerance_px),
                                 image, truth, ours))
    return scores


def format_table(scores: list[ImageScore], chain: str, tolerance_px: float = 2.0) -> str:
    """A plain-text table: one line per image, then the mean."""
    width = max([len(s.stem) for s in scores] + [5])
    lines = [f"{'image':<{width}}  {'IoU':>6}  {f'BF@{tolerance_px:g}px':>8}   (chain: {chain})"]
    lines += [f"{s.stem:<{width}}  {s.iou:6.3f}  {s.boundary_f:8.3f}" for s in scores]
    lines.append(f"{'mean':<{width}}  {np.mean([s.iou for s in scores]):6.3f}  "
                 f"{np.mean([s.boundary_f for s in scores]):8.3f}")
    return "\n".join(lines)


def worst(scores: list[ImageScore], count: int) -> list[ImageScore]:
    """The ``count`` lowest by IoU (then boundary F)."""
    return sorted(scores, key=lambda s: (s.iou, s.boundary_f))[:count]
