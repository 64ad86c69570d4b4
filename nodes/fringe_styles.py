"""Styled fringes for designs: a soft glow, a spray-paint stipple and a halftone dot screen around the edge.

Not for: finding the edge (nodes/guided_upsample.py) or compositing colour (nodes/light_wrap.py, looks).
Each style takes the refined frame-resolution mask and returns a new float32 mask that only adds
coverage around the edge, within about ``width_px``: glow never lowers a value; spray and halftone keep
the person (mask >= 0.5) as it was and are binary outside it.
"""
from __future__ import annotations

import cv2
import numpy as np

STYLES = ("soft", "glow", "spray", "halftone")


def outward_halo(mask: np.ndarray, width_px: float) -> np.ndarray:
    """A float32 falloff from the edge outward over about ``width_px``, computed on a 4x smaller grid.

    Why the small grid: a Gaussian of a 12 px radius at 720p costs several ms; on a quarter-size grid
    it is ~0.2 ms and the halo is smooth anyway.
    """
    h, w = mask.shape
    factor = 4 if min(h, w) >= 64 else 1
    small = cv2.resize(mask, (max(1, w // factor), max(1, h // factor)), interpolation=cv2.INTER_AREA)
    sigma = max(0.5, width_px / (2.0 * factor))
    small = cv2.GaussianBlur(small, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REPLICATE)
    # the blurred edge sits at 0.5; stretch so the halo starts at 1 on the edge and fades outward
    small = np.clip(small * np.float32(2.0), 0.0, 1.0)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


class FringeStyler:
    """Applies one style; keeps the per-size textures (noise, dot screen) so they do not boil per frame."""

    def __init__(self, style: str, width_px: float = 12.0, halftone_cell_px: int = 8, seed: int = 0):
        if style not in STYLES:
            raise ValueError(f"style must be one of {', '.join(STYLES)}, got {style!r}")
        self.style = style
        self.width_px = float(width_px)
        self.halftone_cell_px = int(halftone_cell_px)
        self.seed = int(seed)
        self._texture: np.ndarray | None = None

    def _texture_for(self, h: int, w: int) -> np.ndarray:
        if self._texture is not None and self._texture.shape == (h, w):
            return self._texture
        if self.style == "spray":
            # 2 px grains read as paint droplets; a fixed seed keeps the pattern still between frames
            rng = np.random.default_rng(self.seed)
            grains = rng.random(((h + 1) // 2, (w + 1) // 2), dtype=np.float32)
            texture = cv2.resize(grains, (w, h), interpolation=cv2.INTER_NEAREST)
        else:
            cell = max(2, self.halftone_cell_px)
            # a 45-degree dot screen: (cos u + cos v) / 2 in [-1, 1] mapped so dot area grows with coverage
            ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
            u = (xs + ys) * np.float32(np.pi * np.sqrt(2.0) / cell)
            v = (xs - ys) * np.float32(np.pi * np.sqrt(2.0) / cell)
            texture = (np.float32(1.0) - (np.cos(u) + np.cos(v)) * np.float32(0.5)) * np.float32(0.5)
        # never below 0.02: a halo's faint tail far from the person must not print isolated dots
        self._texture = np.ascontiguousarray(np.maximum(texture, np.float32(0.02)), dtype=np.float32)
        return self._texture

    def __call__(self, mask: np.ndarray) -> np.ndarray:
        if self.style == "soft":
            return mask
        halo = outward_halo(mask, self.width_px)
        if self.style == "glow":
            return np.maximum(mask, halo * np.float32(0.8))
        texture = self._texture_for(*mask.shape)
        # dots only outside the solid person; inside keeps the refined mask untouched
        dots = (halo > texture).astype(np.float32)
        return np.where(mask >= 0.5, mask, dots).astype(np.float32, copy=False)
