"""Static light fall-off maps (vignette, bottom fade for type), made once per frame size.

Not for: per-frame work: the looks multiply a map with cv2.multiply, which costs one pass.
"""
from __future__ import annotations

import numpy as np


def vignette_map(height: int, width: int, *, amount: float, roundness: float = 0.6,
                 bottom_fade: float = 0.0, fade_start: float = 0.62) -> np.ndarray:
    """uint8 HxWx3 multiplier (255 = untouched): darker towards the corners by ``amount`` (0..1) and,
    with ``bottom_fade``, towards the bottom edge from ``fade_start`` (fraction of the height) so
    type set there reads."""
    y = np.linspace(-1.0, 1.0, height, dtype=np.float32)[:, None]
    x = np.linspace(-1.0, 1.0, width, dtype=np.float32)[None, :]
    aspect = width / height
    # between a circle (roundness 1) and the frame's own shape (0)
    sx = 1.0 / (roundness + (1.0 - roundness) * aspect) * aspect
    radius = np.sqrt((x * sx) ** 2 + y ** 2) / np.sqrt(sx ** 2 + 1.0)
    fall = np.clip((radius - 0.35) / 0.65, 0.0, 1.0)
    gain = 1.0 - amount * fall * fall * (3.0 - 2.0 * fall)
    if bottom_fade > 0:
        t = np.clip((np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None] - fade_start)
                    / max(1.0 - fade_start, 1e-3), 0.0, 1.0)
        gain = gain * (1.0 - bottom_fade * t ** 1.5)
    gain8 = np.clip(np.rint(gain * 255.0), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(np.repeat(gain8[:, :, None], 3, axis=2))
