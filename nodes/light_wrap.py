"""Light wrap for composites: the new background's light bleeds a little over the person's edge.

Not for: choosing backgrounds or blending person over background (the composite and its looks do that);
this only tints the person's rim so a cut-out sits in its new scene instead of looking pasted.
"""
from __future__ import annotations

import cv2
import numpy as np

from ..graph.errors import ContractError


def _check(frame_bgr: np.ndarray, background_bgr: np.ndarray, mask: np.ndarray) -> None:
    for name, image in (("frame", frame_bgr), ("background", background_bgr)):
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 \
                or image.shape[2] != 3:
            got = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
            raise ContractError(f"light_wrap: {name} must be uint8 HxWx3 BGR, got {got}")
    if not isinstance(mask, np.ndarray) or mask.dtype != np.float32 or mask.ndim != 2:
        got = f"{mask.dtype} {mask.shape}" if isinstance(mask, np.ndarray) else type(mask).__name__
        raise ContractError(f"light_wrap: mask must be float32 HxW, got {got}")
    if background_bgr.shape != frame_bgr.shape or mask.shape != frame_bgr.shape[:2]:
        raise ContractError(f"light_wrap: sizes differ: frame {frame_bgr.shape[:2]}, background "
                            f"{background_bgr.shape[:2]}, mask {mask.shape} (all must be the frame's size)")


def light_wrap(frame_bgr: np.ndarray, background_bgr: np.ndarray, mask: np.ndarray,
               width_px: float = 12.0, strength: float = 0.5) -> np.ndarray:
    """A new uint8 BGR frame: within ``width_px`` inside the person's edge, the blurred background is
    mixed in, up to ``strength`` (0..1) right at the edge. Inputs are not modified.

    The blurs run on a 4x smaller grid (a 12 px Gaussian at 720p costs several ms; the wrap is soft).
    """
    _check(frame_bgr, background_bgr, mask)
    if not 0.0 <= strength <= 1.0:
        raise ContractError(f"light_wrap: strength must be between 0 and 1, got {strength!r}")
    if width_px <= 0 or strength == 0.0:
        return frame_bgr.copy()
    h, w = mask.shape
    factor = 4 if min(h, w) >= 64 else 1
    small_size = (max(1, w // factor), max(1, h // factor))
    sigma = max(0.5, width_px / (2.0 * factor))
    # the hard outside: an unsure interior (mask 0.6) is still the person's inside, not a rim
    outside = (cv2.resize(mask, small_size, interpolation=cv2.INTER_AREA) < 0.5).astype(np.float32)
    reach = cv2.GaussianBlur(outside, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REPLICATE)
    # light from the background, blurred as if scattered around the edge
    glow = cv2.GaussianBlur(cv2.resize(background_bgr, small_size, interpolation=cv2.INTER_AREA),
                            (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REPLICATE)
    weight = cv2.resize(reach, (w, h), interpolation=cv2.INTER_LINEAR)
    # only on the person: the background side already is the background
    weight *= mask
    weight *= np.float32(2.0 * strength)   # the blurred outside is 0.5 on the edge: make that `strength`
    np.clip(weight, 0.0, 1.0, out=weight)
    glow_full = cv2.resize(glow, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    out = frame_bgr.astype(np.float32)
    glow_full -= out
    glow_full *= weight[..., None]
    out += glow_full
    return np.clip(out, 0, 255).astype(np.uint8)
