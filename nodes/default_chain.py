"""The project's default mask refinement, as plain functions: what `portraitflow mask` and eval use.

Not for: live graphs (they wire the smooth and fringe nodes); this is the same processing for one still.
"""
from __future__ import annotations

import numpy as np

from .fringe import EdgeRefiner, FringeOptions
from .guided_upsample import check_frame_and_mask


def refine_still(frame_bgr: np.ndarray, model_mask: np.ndarray) -> np.ndarray:
    """The best default mask for one still: float32 HxW in [0, 1] at the frame's size.

    frame_bgr: uint8 HxWx3 BGR (or HxWx4 BGRA). model_mask: float32 at the model's resolution (any
    size; it is stretched to the frame like the model's input was). Smoothing has nothing to blend with
    for a still, so this is the fringe with its default options (guided upsampling, soft style).
    Raises ContractError when the frame or the mask has the wrong type or shape.
    """
    check_frame_and_mask(frame_bgr, model_mask, "refine_still")
    return EdgeRefiner(FringeOptions()).refine(frame_bgr, model_mask, where="refine_still")
