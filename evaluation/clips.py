"""Test clips with known motion from real photos: a jittered still, a person moving over a background.

Not for: measuring (evaluation/metrics.py). Known motion gives known truth: every clip returns the
content offset of each frame, and the translating clip also the true person mask of each frame.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..graph.errors import ContractError

SAMPLE_PHOTO = Path(__file__).resolve().parent.parent / "devices" / "assets" / "astronaut_512.png"


@dataclass(frozen=True)
class Clip:
    """Frames (uint8 BGR) with the content's offset per frame in frame px (x, y), and the true person
    mask per frame (float32, frame size) when the clip was built from a known alpha."""

    frames: list[np.ndarray]
    offsets_xy: list[tuple[float, float]]
    truth_masks: list[np.ndarray] | None = None

    def offsets_at(self, width: int, height: int) -> list[tuple[float, float]]:
        """The offsets scaled to another resolution (e.g. the model's mask size)."""
        fh, fw = self.frames[0].shape[:2]
        return [(dx * width / fw, dy * height / fh) for dx, dy in self.offsets_xy]


def _check_image(image: np.ndarray, name: str) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        got = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise ContractError(f"{name}: expected uint8 HxWx3 BGR, got {got}")


def _translate(image: np.ndarray, dx: float, dy: float, border: int) -> np.ndarray:
    h, w = image.shape[:2]
    matrix = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=border)


def add_sensor_noise(image: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian read noise of ``sigma`` grey levels, clipped back to uint8."""
    noise = rng.normal(0.0, sigma, image.shape).astype(np.float32)
    return np.clip(image.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def jittered_still(image: np.ndarray, n_frames: int = 24, max_shift_px: float = 0.75,
                   noise_sigma: float = 3.0, seed: int = 0) -> Clip:
    """The same photo n times, each moved by a random sub-pixel offset and given fresh sensor noise.

    The person does not move: any change of a good mask beyond the known offsets is flicker.
    """
    _check_image(image, "jittered_still image")
    if n_frames < 2:
        raise ContractError(f"jittered_still: n_frames must be >= 2, got {n_frames}")
    rng = np.random.default_rng(seed)
    frames, offsets = [], []
    for _ in range(n_frames):
        dx, dy = (float(v) for v in rng.uniform(-max_shift_px, max_shift_px, 2))
        frames.append(add_sensor_noise(_translate(image, dx, dy, cv2.BORDER_REFLECT), noise_sigma, rng))
        offsets.append((dx, dy))
    return Clip(frames, offsets)


def plain_background(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A person-free background: smooth colour blobs plus fine texture (uint8 BGR)."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(40, 220, (4, 6, 3), dtype=np.uint8)
    background = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    return add_sensor_noise(background, 6.0, rng)


def translating_clip(image: np.ndarray, person_alpha: np.ndarray, background: np.ndarray | None = None,
                     n_frames: int = 20, velocity_xy: tuple[float, float] = (4.0, 0.0),
                     noise_sigma: float = 2.0, seed: int = 0) -> Clip:
    """The photo's person (cut out with ``person_alpha``) moving over a still background.

    person_alpha: float32 HxW in [0, 1], the person's true mask in ``image`` (hardened edges make the
    truth exact). The content of frame t sits at t * velocity_xy px; truth_masks[t] is the alpha there.
    """
    _check_image(image, "translating_clip image")
    h, w = image.shape[:2]
    if person_alpha.shape != (h, w):
        raise ContractError(f"translating_clip: person_alpha is {person_alpha.shape}, image is {(h, w)}")
    if background is None:
        background = plain_background(h, w, seed)
    _check_image(background, "translating_clip background")
    if background.shape[:2] != (h, w):
        background = cv2.resize(background, (w, h), interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(seed)
    alpha = np.asarray(person_alpha, np.float32)
    back = background.astype(np.float32)
    frames, offsets, truths = [], [], []
    for t in range(n_frames):
        dx, dy = velocity_xy[0] * t, velocity_xy[1] * t
        moved = _translate(image, dx, dy, cv2.BORDER_REPLICATE).astype(np.float32)
        moved_alpha = _translate(alpha, dx, dy, cv2.BORDER_CONSTANT)
        a3 = moved_alpha[..., None]
        frame = np.clip(moved * a3 + back * (1.0 - a3), 0, 255).astype(np.uint8)
        frames.append(add_sensor_noise(frame, noise_sigma, rng) if noise_sigma > 0 else frame)
        offsets.append((dx, dy))
        truths.append(moved_alpha)
    return Clip(frames, offsets, truths)


def composite_with_truth(image: np.ndarray, person_alpha: np.ndarray, background: np.ndarray) -> np.ndarray:
    """The photo's person pasted over another background with ``person_alpha``: the alpha is the truth."""
    clip = translating_clip(image, person_alpha, background, n_frames=1, noise_sigma=0.0)
    return clip.frames[0]
