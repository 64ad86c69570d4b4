"""Colour grades as 256-entry lookup tables (cv2.LUT is one pass over the frame): curves, duotone,
teal-orange, posterise.

Not for: spatial effects (vignette.py, blend.py). Tables are built once per setting change.
"""
from __future__ import annotations

import numpy as np

_X = np.arange(256, dtype=np.float32) / 255.0


def _to_u8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values * 255.0), 0, 255).astype(np.uint8)


def s_curve(strength: float) -> np.ndarray:
    """Contrast around mid-grey: 0 = identity, 1 = strong. Returns float32 [0,1] per level."""
    smooth = _X * _X * (3.0 - 2.0 * _X)
    return (_X + (smooth - _X) * float(np.clip(strength, 0.0, 2.0))).astype(np.float32)


def levels(black: float, white: float, gamma: float = 1.0) -> np.ndarray:
    """Map [black, white] (0..1) to [0, 1] with a gamma; float32 per level."""
    t = np.clip((_X - black) / max(white - black, 1e-3), 0.0, 1.0)
    return (t ** (1.0 / gamma)).astype(np.float32)


def curve_lut(curve: np.ndarray) -> np.ndarray:
    """A float curve -> a uint8 LUT usable on 1- or 3-channel uint8 images."""
    return _to_u8(curve)


def duotone_lut(shadow_bgr: tuple[int, int, int], highlight_bgr: tuple[int, int, int],
                contrast: float = 0.6) -> np.ndarray:
    """For a grey 3-channel image: grey level -> a colour between shadow and highlight. 1x256x3."""
    t = s_curve(contrast)[:, None]
    shadow = np.asarray(shadow_bgr, np.float32)[None, :] / 255.0
    highlight = np.asarray(highlight_bgr, np.float32)[None, :] / 255.0
    return _to_u8(shadow + (highlight - shadow) * t).reshape(1, 256, 3)


def teal_orange_lut(amount: float = 1.0, contrast: float = 0.5) -> np.ndarray:
    """Per-channel curves for the blockbuster grade: shadows pushed to teal, highlights (skin) to
    orange, with an S-curve for punch. 1x256x3 (B, G, R)."""
    base = s_curve(contrast)
    shadows = (1.0 - base) ** 2          # weight of the shadow push, 1 at black
    highlights = base ** 2               # weight of the highlight push, 1 at white
    push = 0.10 * float(amount)
    blue = base + push * (1.1 * shadows - 1.0 * highlights)
    green = base + push * (0.45 * shadows + 0.15 * highlights)
    red = base + push * (-0.9 * shadows + 0.8 * highlights)
    return _to_u8(np.stack([blue, green, red], axis=1)).reshape(1, 256, 3)


def posterise_lut(thresholds: list[float], colours_bgr: list[tuple[int, int, int]]) -> np.ndarray:
    """Grey level -> one of ``len(thresholds) + 1`` flat colours (dark to light). 1x256x3."""
    index = np.searchsorted(np.asarray(thresholds, np.float32), np.arange(256, dtype=np.float32),
                            side="right")
    return np.asarray(colours_bgr, np.uint8)[index].reshape(1, 256, 3)
