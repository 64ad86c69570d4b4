"""Ground truth we construct ourselves: a hard person mask with edge detail finer than the model's grid.

Not for: real annotated data sets (``portraitflow eval --masks DIR`` reads those).

Why constructed: the MediaPipe masks are themselves bilinear upscales of a model-resolution mask, so
scoring an upsampler against them rewards plain bilinear by construction. Instead a reference mask is
hardened and its boundary wobbled by a smooth random field (a few px, finer than the 2-5 px model
grid, like hair and cloth), and the photo's person is pasted with it over another background
(evaluation/clips.composite_with_truth). In that composite the true boundary is known exactly and is a
real image edge, as a person's outline is in a photo.
"""
from __future__ import annotations

import cv2
import numpy as np

from ..graph.errors import ContractError


def detailed_truth(reference_mask: np.ndarray, wobble_px: float = 3.0, detail_px: float = 3.0,
                   seed: int = 0) -> np.ndarray:
    """A float32 {0, 1} mask: ``reference_mask`` >= 0.5 with its boundary moved by up to ~wobble_px.

    detail_px: the wobble's correlation length (smaller = finer detail).
    """
    if not isinstance(reference_mask, np.ndarray) or reference_mask.ndim != 2:
        raise ContractError(f"detailed_truth: expected an HxW mask, "
                            f"got {getattr(reference_mask, 'shape', None)}")
    h, w = reference_mask.shape
    rng = np.random.default_rng(seed)
    step = max(1.0, detail_px)
    field = rng.normal(0.0, 1.0, (int(h / step) + 2, int(w / step) + 2)).astype(np.float32)
    field = cv2.resize(field, (w, h), interpolation=cv2.INTER_CUBIC)
    field = cv2.GaussianBlur(field, (0, 0), 1.0)
    field /= max(float(field.std()), 1e-6)
    person = (reference_mask >= 0.5).astype(np.uint8)
    # signed distance to the boundary (positive inside), then the threshold moves by the field
    signed = (cv2.distanceTransform(person, cv2.DIST_L2, 5)
              - cv2.distanceTransform(1 - person, cv2.DIST_L2, 5))
    return (signed + np.float32(wobble_px) * field > 0).astype(np.float32)
