"""Frame-edge handling for model-resolution masks: where the person runs out of the frame (shoulders cut
by the bottom or a side, hair by the top), the mask reaches the edge solidly instead of breaking up.

Not for: the mask's own edge against the background (nodes/fringe.py). Why: the models see zero
padding past the border and their confidence sags there, so a cut shoulder came out as a patchy
half-transparent mask and a replaced background showed through it in blotches. Two steps:
- the bottom band takes at least the values of the row just inside it where that row is person
  (bodies continue downwards out of a portrait frame);
- near every border the mask is pushed towards 0 or 1 (a contrast gain around 0.5 that grows
  towards the edge): the person or the background, not a blotchy mix.
Measured on 120 dev portraits (gated chain): MAD within 40 px of the border 40.8 -> 37.2, whole-frame
MAD 29.6 -> 28.5, IoU unchanged (0.959), boundary F 0.559 -> 0.556. Extending the sides the same way
as the bottom lost IoU (0.959 -> 0.954): heads and hair near a side do not continue past it.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

#: the bottom band's depth and the hardening band's depth, as fractions of the mask's size
BOTTOM_BAND, HARDEN_BAND = 0.05, 0.12
#: the contrast gain right at the border (1 = no change); it falls linearly to 1 across the band
EDGE_GAIN = 4.0


@lru_cache(maxsize=8)
def _gain_map(height: int, width: int, band: float, gain: float) -> np.ndarray:
    y = np.arange(height, dtype=np.float32)[:, None]
    x = np.arange(width, dtype=np.float32)[None, :]
    depth = np.minimum(np.minimum(y, height - 1 - y) / max(band * height, 1.0),
                       np.minimum(x, width - 1 - x) / max(band * width, 1.0))
    gains = np.float32(1.0) + np.float32(gain - 1.0) * np.clip(1.0 - depth, 0.0, 1.0)
    gains.flags.writeable = False
    return gains


def extend_bottom(mask: np.ndarray, bottom_band: float = BOTTOM_BAND) -> np.ndarray:
    """A new float32 mask whose bottom band is at least the row above it where that row is person."""
    out = np.array(mask, dtype=np.float32, copy=True)
    h = out.shape[0]
    rows = max(1, int(round(bottom_band * h)))
    if h > rows + 1:
        reference = out[h - rows - 1]
        person = reference > 0.5
        band = out[h - rows:]
        band[:, person] = np.maximum(band[:, person], reference[person][None, :])
    return out


def harden_borders(mask: np.ndarray, harden_band: float = HARDEN_BAND, edge_gain: float = EDGE_GAIN,
                   out: np.ndarray | None = None) -> np.ndarray:
    """The mask pushed towards 0 or 1 near the borders (``out`` may be ``mask`` itself)."""
    h, w = mask.shape
    out = np.subtract(mask, np.float32(0.5), out=out, dtype=np.float32)
    out *= _gain_map(h, w, float(harden_band), float(edge_gain))
    out += np.float32(0.5)
    return np.clip(out, 0.0, 1.0, out=out)


def extend_to_frame_edges(mask: np.ndarray) -> np.ndarray:
    """Both steps on one mask (a new float32 array)."""
    out = extend_bottom(mask)
    return harden_borders(out, out=out)
