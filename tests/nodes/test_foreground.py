"""Foreground colour estimation on a constructed hair edge with known colours: dark strands of partial
alpha over a bright window, so the true foreground and the old background are known at every pixel."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from portraitflow.nodes.looks.foreground import estimate_foreground

HAIR_BGR = np.array([35, 45, 70], np.float32)        # dark brown
SKIN_BGR = np.array([120, 150, 200], np.float32)


def hair_edge(height: int = 360, width: int = 640, seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(image, alpha, true foreground): a head-and-shoulders blob whose top is loose strands of hair,
    thin anti-aliased curves of partial alpha, in front of a bright gradient window."""
    rng = np.random.default_rng(seed)
    alpha = np.zeros((height, width), np.float32)
    cv2.ellipse(alpha, (width // 2, height), (width // 4, int(height * 0.62)), 0, 0, 360, 1.0, -1,
                cv2.LINE_AA)
    strands = np.zeros((height * 4, width * 4), np.float32)   # drawn 4x larger then shrunk: sub-pixel width
    top = height - int(height * 0.62)
    for _ in range(140):
        x0 = rng.uniform(width * 0.28, width * 0.72) * 4
        length = rng.uniform(0.04, 0.12) * height * 4
        bend = rng.uniform(-60, 60)
        t = np.linspace(0.0, 1.0, 24)
        xs = x0 + bend * np.sin(t * 3.1) + rng.uniform(-40, 40) * t
        ys = (top + 0.08 * height) * 4 - length * t
        points = np.stack([xs, ys], axis=1).round().astype(np.int32)
        cv2.polylines(strands, [points], False, float(rng.uniform(0.5, 1.0)), int(rng.integers(2, 5)),
                      cv2.LINE_AA)
    strands = cv2.resize(strands, (width, height), interpolation=cv2.INTER_AREA)
    alpha = np.clip(np.maximum(alpha, strands), 0.0, 1.0)
    alpha = cv2.GaussianBlur(alpha, (0, 0), 0.8)
    # foreground: hair colour at the top, skin lower down; background: a bright, slightly blue window
    ramp = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    fore = HAIR_BGR + (SKIN_BGR - HAIR_BGR) * np.clip((ramp - 0.55) * 3.0, 0.0, 1.0)
    fore = np.broadcast_to(fore, (height, width, 3))
    back = np.array([250, 240, 225], np.float32) - 40.0 * ramp
    back = np.broadcast_to(back, (height, width, 3))
    image = alpha[..., None] * fore + (1.0 - alpha[..., None]) * back
    return image.round().astype(np.uint8), alpha, np.ascontiguousarray(fore)


@pytest.mark.parametrize("size", [(360, 640), (720, 1280)])
def test_the_old_background_halo_is_removed_from_hair(size: tuple[int, int]) -> None:
    image, alpha, fore = hair_edge(*size)
    before = image.copy()
    estimate = estimate_foreground(image, alpha)
    assert estimate.shape == image.shape and estimate.dtype == np.uint8
    assert np.array_equal(image, before), "the input must not be modified"
    soft = (alpha > 0.05) & (alpha < 0.95)
    assert soft.sum() > 1000, "the constructed edge must have plenty of soft hair"
    # what a compositor shows is a * F over the new background: weigh the colour error by alpha
    a = alpha[..., None]
    naive_error = np.abs(a * image - a * fore)[soft].mean()
    error = np.abs(a * estimate - a * fore)[soft].mean()
    assert naive_error > 15.0   # the bright window shows through the strands
    assert error < 0.6 * naive_error, (error, naive_error)
    # the halo an art director sees: strands composited over black glow with the old window's light
    luma = np.array([0.114, 0.587, 0.299], np.float32)
    glow_naive = ((a * image - a * fore) @ luma)[soft].mean()
    glow = ((a * estimate - a * fore) @ luma)[soft].mean()
    assert glow_naive > 15.0 and abs(glow) < 0.6 * glow_naive, (glow, glow_naive)
    # solid person is untouched
    solid = alpha >= 1.0
    assert np.array_equal(estimate[solid], image[solid])


def test_no_edge_no_change_and_bad_input_named() -> None:
    image = np.full((64, 80, 3), 128, np.uint8)
    assert np.array_equal(estimate_foreground(image, np.ones((64, 80), np.float32)), image)
    assert np.array_equal(estimate_foreground(image, np.zeros((64, 80), np.float32)), image)
    with pytest.raises(ValueError, match="alpha must be HxW"):
        estimate_foreground(image, np.ones((32, 80), np.float32))
    with pytest.raises(ValueError, match="uint8 HxWx3"):
        estimate_foreground(image.astype(np.float32), np.ones((64, 80), np.float32))
