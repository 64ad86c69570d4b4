"""The looks' alpha blend (nodes/looks/blend.py): the formula's pixels to within a level wherever the soft
band falls (at the frame's borders, a single soft pixel, none at all, noise), exactly the top where alpha
is 255 and the bottom where it is 0, into the bottom or over the top itself.

Not for: the looks themselves (test_look_signatures.py) or the masks (test_fringe.py).
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from portraitflow.nodes.looks.blend import alpha_blend, draw_over
from portraitflow.nodes.looks.scratch import Scratch

from support.paths import PARITY


def reference(top: np.ndarray, bottom: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    a = alpha.astype(np.float32)[..., None] / 255.0 if top.ndim == 3 else alpha.astype(np.float32) / 255.0
    return top * a + bottom * (1.0 - a)


def real_layers(height: int = 720, width: int = 1280):
    photo = cv2.resize(cv2.imread(str(PARITY / "astronaut_in_coffee_1280x720.png")), (width, height))
    mask = np.load(PARITY / "astronaut_in_coffee_1280x720.mediapipe_masks.npz")[
        "selfie_segmentation_landscape__full"]
    alpha = cv2.convertScaleAbs(cv2.resize(mask, (width, height)), alpha=255.0)
    return photo, cv2.GaussianBlur(photo, (0, 0), 12), alpha


def alphas(alpha: np.ndarray) -> dict[str, np.ndarray]:
    h, w = alpha.shape
    one_pixel = np.zeros_like(alpha)
    one_pixel[h // 2, w - 1] = 77
    ramp_at_borders = np.zeros_like(alpha)
    ramp = min(40, w)
    ramp_at_borders[:, :ramp] = np.linspace(255, 1, ramp, dtype=np.float32).astype(np.uint8)
    ramp_at_borders[-3:, :] = 128
    return {"portrait": alpha, "all clear": np.zeros_like(alpha), "all solid": np.full_like(alpha, 255),
            "one soft pixel": one_pixel, "band at the borders": ramp_at_borders,
            "noise": np.random.default_rng(1).integers(0, 256, alpha.shape, dtype=np.uint8)}


@pytest.mark.parametrize("size", [(720, 1280), (37, 53), (1, 9)])
def test_the_blend_matches_the_formula_wherever_the_band_is(size) -> None:
    top, bottom, portrait = real_layers(*size)
    scratch = Scratch()
    for name, alpha in alphas(portrait).items():
        out = alpha_blend(top, bottom, alpha, scratch=scratch)
        error = np.abs(out.astype(np.float32) - reference(top, bottom, alpha))
        assert error.max() <= 1.0, name
        assert np.array_equal(out[alpha == 255], top[alpha == 255]), name
        assert np.array_equal(out[alpha == 0], bottom[alpha == 0]), name


def test_in_place_into_the_bottom_and_over_the_top_itself() -> None:
    top, bottom, alpha = real_layers()
    kept_alpha = alpha.copy()
    expected = alpha_blend(top, bottom, alpha)
    canvas = bottom.copy()
    assert draw_over(top, alpha, canvas) is canvas and np.array_equal(canvas, expected)
    canvas = bottom.copy()
    assert np.array_equal(alpha_blend(top, canvas, alpha, out=canvas), expected)
    over_top = top.copy()
    assert np.array_equal(alpha_blend(over_top, bottom, alpha, out=over_top), expected)
    assert np.array_equal(top, real_layers()[0]) and np.array_equal(bottom, real_layers()[1])  # inputs kept
    assert np.array_equal(alpha, kept_alpha)


def test_one_channel_layers() -> None:
    top, bottom, alpha = real_layers(90, 160)
    grey_top, grey_bottom = cv2.cvtColor(top, cv2.COLOR_BGR2GRAY), cv2.cvtColor(bottom, cv2.COLOR_BGR2GRAY)
    kept_alpha = alpha.copy()
    out = alpha_blend(grey_top, grey_bottom, alpha)
    assert out.shape == alpha.shape and np.array_equal(alpha, kept_alpha)
    assert np.array_equal(out[alpha == 255], grey_top[alpha == 255])
    assert np.array_equal(out[alpha == 0], grey_bottom[alpha == 0])
    assert np.abs(out.astype(np.float32) - reference(grey_top, grey_bottom, alpha)).max() <= 1.0
