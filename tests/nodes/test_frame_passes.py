"""The compiled full-resolution passes (nodes/frame_passes.c) against the OpenCV calls they stand for, at
real frame sizes, on real photos' masks and on random layers; and every recipe rendered both ways through the
real CLI (the compiled path and PORTRAITFLOW_COMPILED=0) gives the same picture."""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import cv2
import numpy as np
import pytest

from portraitflow.nodes.frame_passes import SWITCH, compiled

from support.paths import PARITY

needs_compiled = pytest.mark.skipif(compiled is None, reason="the compiled passes are off (not built, or PORTRAITFLOW_COMPILED=0)")
SIZES = [(480, 640), (720, 1280), (1080, 1920), (2160, 3840), (361, 641)]


def test_the_passes_are_compiled_wherever_the_build_had_a_compiler():
    """pip builds the extension when a C compiler and Python's headers are there; it is optional (the build
    goes on without), so a failed build would only show as a slow product: here it shows."""
    compiler = shlex.split(sysconfig.get_config_var("CC") or "cc")[0]
    headers = Path(sysconfig.get_paths()["include"]) / "Python.h"
    if shutil.which(compiler) is None or not headers.exists() or os.environ.get(SWITCH) == "0":
        pytest.skip(f"no C compiler ({compiler}) or headers ({headers}) here, or {SWITCH}=0")
    assert compiled is not None, "the compiled passes did not build (see pip's output for setup.py)"


def opencv_blend(top, top_weight, bottom, alpha):
    """blend.py's OpenCV arithmetic: round(top * w / 255) + round(bottom * (255 - a) / 255), saturated."""
    spread = (lambda w: w) if top.ndim == 2 else (lambda w: cv2.merge([w] * top.shape[2]))
    kept = cv2.multiply(top, spread(top_weight), scale=1 / 255)
    under = cv2.multiply(bottom, spread(cv2.bitwise_not(alpha)), scale=1 / 255)
    return cv2.add(kept, under)


def layers(rng, height, width, channels):
    shape = (height, width) if channels == 1 else (height, width, channels)
    top, bottom = (rng.integers(0, 256, shape, np.uint8) for _ in range(2))
    alpha = rng.integers(0, 256, (height, width), np.uint8)
    alpha[: height // 4] = 0          # the hidden and the opaque parts a real alpha has
    alpha[-height // 4:] = 255
    return top, bottom, alpha


@needs_compiled
@pytest.mark.parametrize("height,width", SIZES)
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_the_blend_gives_opencvs_pixels_exactly(height, width, channels):
    rng = np.random.default_rng(height * channels)
    top, bottom, alpha = layers(rng, height, width, channels)
    expected = opencv_blend(top, alpha, bottom, alpha)
    out = np.empty_like(top)
    compiled.blend(top, alpha, bottom, alpha, out)
    assert np.array_equal(out, expected)
    assert np.array_equal(out[alpha == 0], bottom[alpha == 0]) and np.array_equal(out[alpha == 255], top[alpha == 255])
    # into either layer itself, and with a top weight of its own (a poster's vignette folded in)
    over_top, over_bottom = top.copy(), bottom.copy()
    compiled.blend(over_top, alpha, bottom, alpha, over_top)
    compiled.blend(top, alpha, over_bottom, alpha, over_bottom)
    assert np.array_equal(over_top, expected) and np.array_equal(over_bottom, expected)
    weight = cv2.multiply(alpha, rng.integers(128, 256, alpha.shape, np.uint8), scale=1 / 255)
    compiled.blend(top, weight, bottom, alpha, out)
    assert np.array_equal(out, opencv_blend(top, weight, bottom, alpha))


@needs_compiled
def test_the_blend_rounds_every_product_of_two_levels_as_opencv_does():
    """Every top level against every weight, and every bottom level against every alpha: each product x of
    two levels is rounded to x / 255 exactly as cv2.multiply's scale does (the pass divides by a multiply)."""
    levels = np.arange(256, dtype=np.uint8)
    top = np.repeat(levels, 256).reshape(256, 256)
    weight = np.tile(levels, 256).reshape(256, 256)
    out = np.empty_like(top)
    for bottom in (np.zeros_like(top), top.copy(), np.full_like(top, 255)):
        compiled.blend(top, weight, bottom, weight, out)
        assert np.array_equal(out, opencv_blend(top, weight, bottom, weight))


@needs_compiled
def test_the_blend_works_in_a_box_of_a_frame_and_leaves_the_rest():
    rng = np.random.default_rng(7)
    top, bottom, alpha = layers(rng, 720, 1280, 3)
    out = np.zeros_like(top)
    box = (slice(101, 577), slice(333, 1001))
    compiled.blend(top[box], alpha[box], bottom[box], alpha[box], out[box])
    assert np.array_equal(out[box], opencv_blend(top[box], alpha[box], bottom[box], alpha[box]))
    untouched = np.ones(alpha.shape, bool)
    untouched[box] = False
    assert not out[untouched].any()


@needs_compiled
def test_views_a_user_plugin_may_send_blend_as_their_copies_would():
    """A mirrored frame (frame[:, ::-1]), one flipped upside down, a channel order reversed in place, a box
    of every other column: the inputs are taken as they read (copied where their pixels are not contiguous
    in a row, as OpenCV's calls do), never refused."""
    rng = np.random.default_rng(11)
    top, bottom, alpha = layers(rng, 480, 640, 3)
    for view in (lambda a: a[:, ::-1], lambda a: a[::-1], lambda a: a[..., ::-1] if a.ndim == 3 else a,
                 lambda a: a[:, ::2]):
        t, b, a = view(top), view(bottom), view(alpha)
        out = np.empty(t.shape, np.uint8)
        compiled.blend(t, a, b, a, out)
        copies = [np.ascontiguousarray(x) for x in (t, a, b)]
        assert np.array_equal(out, opencv_blend(copies[0], copies[1], copies[2], copies[1]))


@needs_compiled
@pytest.mark.parametrize("height,width", SIZES)
def test_a_bottom_grown_from_a_small_grid_is_cv2_resizes_bit_for_bit(height, width):
    """The blur's background: a small grid (or one already grown across) that the blend grows itself: the
    same pixels as growing it to the frame with cv2.resize first and blending, exactly."""
    rng = np.random.default_rng(width)
    top, _, alpha = layers(rng, height, width, 3)
    grid = cv2.GaussianBlur(rng.integers(0, 256, (height // 8, width // 8, 3), np.uint8), (5, 5), 0)
    for bottom in (grid, cv2.resize(grid, (width, grid.shape[0])), grid[:, :3]):
        expected = opencv_blend(top, alpha, cv2.resize(bottom, (width, height)), alpha)
        out = np.empty_like(top)
        compiled.blend(top, alpha, bottom, alpha, out)
        assert np.array_equal(out, expected), bottom.shape


@needs_compiled
@pytest.mark.parametrize("height,width", SIZES[:3])
def test_the_mix_of_three_layers_gives_opencvs_pixels_exactly(height, width):
    rng = np.random.default_rng(3)
    images = [rng.integers(0, 256, (height, width, 3), np.uint8) for _ in range(3)]
    first = rng.integers(0, 256, (height, width), np.uint8)
    second = cv2.multiply(cv2.bitwise_not(first), rng.integers(0, 256, first.shape, np.uint8), scale=1 / 255)
    weights = [first, second, cv2.subtract(cv2.bitwise_not(first), second)]   # they sum to 255
    expected = np.zeros_like(images[0])
    for image, weight in zip(images, weights):
        expected = cv2.add(expected, cv2.multiply(image, cv2.merge([weight] * 3), scale=1 / 255))
    out = np.empty_like(expected)
    compiled.mix(images, weights, out)
    assert np.array_equal(out, expected)


@needs_compiled
@pytest.mark.parametrize("height,width,rows,cols", [(720, 1280, 180, 320), (800, 600, 320, 240),
                                                    (1080, 1920, 180, 320), (321, 571, 107, 190)])
def test_the_guided_apply_is_the_formula_on_grown_coefficients(height, width, rows, cols):
    photo = cv2.imread(str(PARITY / "astronaut_in_coffee_1280x720.png"))
    grey = cv2.cvtColor(cv2.resize(photo, (width, height)), cv2.COLOR_BGR2GRAY)
    rng = np.random.default_rng(rows)
    a = (rng.random((rows, cols), np.float32) * 8 - 4) / 255
    b = rng.random((rows, cols), np.float32) * 3 - 1
    expected = np.clip(cv2.resize(a, (width, height)) * grey.astype(np.float32) + cv2.resize(b, (width, height)),
                       0.0, 1.0)
    out = np.full((height, width), np.nan, np.float32)
    compiled.guided_apply(cv2.resize(a, (width, rows)), cv2.resize(b, (width, rows)), grey, out)
    assert np.abs(out - expected).max() < 1e-4 and out.min() >= 0.0 and out.max() <= 1.0


@needs_compiled
@pytest.mark.parametrize("height,width", [(720, 1280), (1080, 1920), (361, 641), (5, 9)])
@pytest.mark.parametrize("feather", [0.5, 1.0, 2.0, 4.0, 7.0])
def test_the_guided_apply_with_the_feather_is_opencvs_gaussian_of_it(height, width, feather):
    """The fringe's feather fused into the apply: cv2.GaussianBlur (replicated ends) of the unblurred result,
    within 1e-6, for the radii the loops are written out for (1-3) and beyond, and on frames with fewer rows
    than taps."""
    rng = np.random.default_rng(width)
    rows, cols = max(2, height // 4), max(2, width // 4)
    a = (rng.random((rows, cols), np.float32) * 8 - 4) / 255
    b = rng.random((rows, cols), np.float32) * 3 - 1
    grey = rng.integers(0, 256, (height, width), np.uint8)
    grown = cv2.resize(a, (width, rows)), cv2.resize(b, (width, rows))
    sharp = np.empty((height, width), np.float32)
    compiled.guided_apply(*grown, grey, sharp)
    sigma = feather / 2
    radius = max(1, int(np.ceil(3 * sigma - 0.5)))
    taps = cv2.getGaussianKernel(2 * radius + 1, sigma, cv2.CV_32F).ravel()
    expected = cv2.GaussianBlur(sharp, (2 * radius + 1,) * 2, sigmaX=sigma, borderType=cv2.BORDER_REPLICATE)
    out = np.empty_like(sharp)
    compiled.guided_apply(*grown, grey, out, taps)
    assert np.abs(out - expected).max() < 1e-6


@needs_compiled
def test_bad_arguments_name_the_argument_and_what_was_expected():
    top = np.zeros((72, 128, 3), np.uint8)
    alpha = np.zeros((72, 128), np.uint8)
    with pytest.raises(TypeError, match=r"top_weight: expected uint8, got items of format 'f'"):
        compiled.blend(top, alpha.astype(np.float32), top, alpha, top.copy())
    with pytest.raises(ValueError, match=r"bottom_alpha: expected the size of top, 72 x 128 x 1, got 72 x 64"):
        compiled.blend(top, alpha, top, alpha[:, :64], top.copy())
    with pytest.raises(ValueError, match=r"bottom: expected at most 72 x 128 x 3 \(a smaller grid is grown\), got 80 x 128 x 3"):
        compiled.blend(top, alpha, np.zeros((80, 128, 3), np.uint8), alpha, top.copy())
    with pytest.raises(ValueError, match=r"out: each row's pixels must be contiguous"):
        compiled.blend(top, alpha, top, alpha, np.zeros((72, 256, 3), np.uint8)[:, ::2])
    with pytest.raises(TypeError, match=r"out: expected a writable numpy array"):
        readonly = top.copy()
        readonly.flags.writeable = False
        compiled.blend(top, alpha, top, alpha, readonly)
    with pytest.raises(ValueError, match=r"layers, weights: expected 1 to 8 of each"):
        compiled.mix([top, top], [alpha], top.copy())
    with pytest.raises(ValueError, match=r"weights\[1\]: expected one channel"):
        compiled.mix([top, top], [alpha, top], top.copy())
    a_rows = np.zeros((18, 128), np.float32)
    with pytest.raises(ValueError, match=r"taps: expected an odd count of up to 63 float32, got 4"):
        compiled.guided_apply(a_rows, a_rows, alpha, np.zeros((72, 128), np.float32), np.ones(4, np.float32))
    with pytest.raises(TypeError, match=r"guide: expected uint8"):
        compiled.guided_apply(np.zeros((18, 128), np.float32), np.zeros((18, 128), np.float32),
                              alpha.astype(np.float32), np.zeros((72, 128), np.float32))


RECIPES = ["blur", "colour_pop", "cutout", "double_exposure", "poster", "replace", "stencil"]


@needs_compiled
@pytest.mark.slow
def test_every_recipe_renders_the_same_picture_with_and_without_the_compiled_passes(tmp_path):
    """The real CLI on a real photo, once as built and once with PORTRAITFLOW_COMPILED=0: the looks' passes,
    the blur's background grown in its blend included, give the same pixels; the mask may differ by the guided
    filter's float apply (within 1e-4), which can move a pixel of the soft edge by a level or two."""
    photo = PARITY / "astronaut_in_coffee_1280x720.png"
    for recipe in RECIPES:
        pictures = []
        for switch in ("1", "0"):
            out = tmp_path / f"{recipe}-{switch}.png"
            result = subprocess.run([sys.executable, "-m", "portraitflow", "render", str(photo), "--recipe", recipe,
                                     "-o", str(out)], env={**os.environ, SWITCH: switch}, capture_output=True,
                                    text=True)
            assert result.returncode == 0, result.stderr
            pictures.append(cv2.imread(str(out), cv2.IMREAD_UNCHANGED))
        difference = cv2.absdiff(*pictures)
        assert pictures[0].shape == pictures[1].shape and difference.max() <= 2, f"{recipe}: {difference.max()}"
        assert np.mean(difference) < 0.01, f"{recipe}: mean difference {np.mean(difference)}"
