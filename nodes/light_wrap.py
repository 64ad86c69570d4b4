"""Light wrap for composites: the new background's light bleeds a little over the person's edge.

Not for: choosing backgrounds or blending person over background (the composite and its looks do that);
this only tints the person's rim so a cut-out sits in its new scene instead of looking pasted.
"""
from __future__ import annotations

import cv2
import numpy as np

from ..graph.errors import ContractError
from .looks.blend import alpha_blend, mask_to_alpha
from .looks.reduced import reduced_size, shrink
from .looks.scratch import Scratch

# The blurs run with the long side at most this: a 12 px Gaussian at 720p costs several ms, and the
# wrap is soft, so the reduced grid loses nothing visible.
REDUCED_LONG_SIDE = 320
# The glow is blurred wider than the reach, so the light on the rim comes from a little way out
# (a narrow glow just repeats the colour right behind the edge).
GLOW_SPREAD = 1.5


class LightWrap:
    """Light wrap for one frame size, uint8 throughout, its working buffers reused frame after frame.

    ``width_px``: how far (full-frame pixels) the light reaches inside the edge (the reach is a Gaussian
    of sigma ``width_px / 2``); ``strength`` (0..1): how much of the light shows right at the edge.
    Use: ``wrap.apply(frame, wrap.glow(background), mask)``; the glow of a still background can be kept.
    """

    def __init__(self, height: int, width: int, width_px: float, strength: float,
                 scratch: Scratch | None = None) -> None:
        if not width_px > 0:
            raise ContractError(f"light_wrap: width_px must be > 0, got {width_px!r}")
        if not 0.0 <= strength <= 1.0:
            raise ContractError(f"light_wrap: strength must be between 0 and 1, got {strength!r}")
        self.height, self.width = height, width
        self.strength = float(strength)
        self._small = reduced_size(height, width, REDUCED_LONG_SIDE)
        self._sigma = max(0.5, width_px / 2.0 * self._small[0] / width)   # on the reduced grid
        self._scratch = scratch if scratch is not None else Scratch()

    def glow(self, light: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """The light (uint8 HxW or HxWx3 at frame size) as it would scatter around an edge: blurred at
        reduced size, brought back to frame size. Into ``out`` when given, else a new array."""
        small = cv2.GaussianBlur(shrink(light, self._small), (0, 0), self._sigma * GLOW_SPREAD)
        return cv2.resize(small, (self.width, self.height), dst=out, interpolation=cv2.INTER_LINEAR)

    def weight(self, mask: np.ndarray, alpha: np.ndarray | None = None) -> np.ndarray:
        """uint8 weight of the glow: strongest right inside the person's edge, gone deeper in, and 0
        off the person (``alpha`` = the mask as uint8, when the caller has it already). A scratch buffer."""
        # the hard outside: an unsure interior (mask 0.6) is still the person's inside, not a rim
        outside = (shrink(mask, self._small) < 0.5).astype(np.float32)
        reach = cv2.GaussianBlur(outside, (0, 0), self._sigma, borderType=cv2.BORDER_REPLICATE)
        # the blurred outside is 0.5 on the edge itself: scale so the edge gets `strength`
        small8 = cv2.convertScaleAbs(reach, alpha=510.0 * self.strength)
        full8 = cv2.resize(small8, (self.width, self.height), dst=self._scratch.get("wrap.reach", mask.shape),
                           interpolation=cv2.INTER_LINEAR)
        if alpha is None:
            alpha = mask_to_alpha(mask)
        # only on the person: the background side already is the background
        return cv2.multiply(full8, alpha, scale=1 / 255, dst=self._scratch.get("wrap.weight", mask.shape))

    def apply(self, frame: np.ndarray, glow: np.ndarray, mask: np.ndarray, alpha: np.ndarray | None = None,
              out: np.ndarray | None = None) -> np.ndarray:
        """``frame`` (uint8 BGR) with ``glow`` (from :meth:`glow`; one channel is taken as grey light)
        mixed over the person's rim. Into ``out`` when given, else a new array; inputs are not modified."""
        if mask.shape != (self.height, self.width) or frame.shape[:2] != mask.shape \
                or glow.shape[:2] != mask.shape:
            raise ContractError(f"light_wrap: sizes differ: made for {(self.height, self.width)}, got frame "
                                f"{frame.shape[:2]}, glow {glow.shape[:2]}, mask {mask.shape}")
        if glow.ndim == 2:   # grey light: glowing one channel and merging is 3x cheaper than three
            glow = cv2.merge((glow, glow, glow), dst=self._scratch.get("wrap.glow3", frame.shape))
        return alpha_blend(glow, frame, self.weight(mask, alpha), scratch=self._scratch, out=out)


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
    """A new uint8 BGR frame: within about ``width_px`` inside the person's edge, the blurred background
    is mixed in, up to ``strength`` (0..1) right at the edge. Inputs are not modified.

    One frame at a time; for a stream, keep a :class:`LightWrap` (it reuses its buffers).
    """
    _check(frame_bgr, background_bgr, mask)
    if not 0.0 <= strength <= 1.0:
        raise ContractError(f"light_wrap: strength must be between 0 and 1, got {strength!r}")
    if width_px <= 0 or strength == 0.0:
        return frame_bgr.copy()
    wrap = LightWrap(mask.shape[0], mask.shape[1], width_px, strength)
    return wrap.apply(frame_bgr, wrap.glow(background_bgr), mask)
