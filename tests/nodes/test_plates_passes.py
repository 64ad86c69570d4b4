"""The plates looks' compiled passes (nodes/looks/plates_pass.c: the poster's and the replaced background's
mix, colour pop's grey scene and person, the cut-out's BGRA) against the OpenCV calls they stand for, on a
real photo and its real mask at real frame sizes; the layers they grow from small grids against cv2.resize;
and every one of those looks rendered by a child process with PORTRAITFLOW_COMPILED=0 and without it, on the
same real frame and mask: the same pixels (all of the arithmetic is integer, the rounding OpenCV's), the
still scene's kept mixes included. Bad arguments name the argument."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from portraitflow.nodes.frame_passes import SWITCH, compiled
from portraitflow.nodes.looks.blend import mask_to_alpha
from portraitflow.nodes.looks.box_blend import alpha_and_box, box_cells, cells_to_grow
from portraitflow.nodes.looks.grading import curve_lut, duotone_lut, s_curve, teal_orange_lut

from support.paths import PARITY

needs_compiled = pytest.mark.skipif(compiled is None, reason="the compiled passes are off (not built, or PORTRAITFLOW_COMPILED=0)")
#: 480p, 720p, 1080p and an odd size (the photo and its mask brought to each)
SIZES = [(480, 640), (720, 1280), (1080, 1920), (361, 641)]
PHOTO = PARITY / "astronaut_in_coffee_1280x720.png"
MASKS = PARITY / "astronaut_in_coffee_1280x720.mediapipe_masks.npz"
_INV255 = 1 / 255


def photo_and_alpha(height: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The real photo and its real (MediaPipe) mask at height x width, the mask softened as the fringe does:
    frame, float mask, uint8 alpha."""
    frame = cv2.resize(cv2.imread(str(PHOTO)), (width, height), interpolation=cv2.INTER_AREA)
    mask = np.load(MASKS)["selfie_segmentation_landscape__full"]
    mask = cv2.GaussianBlur(cv2.resize(mask, (width, height)), (0, 0), max(1.0, height / 360))
    return frame, mask, mask_to_alpha(mask)


def alpha_box(alpha: np.ndarray) -> tuple[int, int, int, int]:
    x, y, w, h = cv2.boundingRect(alpha)
    assert w and h, "the photo's mask has a person"
    return y, y + h, x, x + w


def spread(weight: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(weight, cv2.COLOR_GRAY2BGR)


def grown(cells: np.ndarray, box: tuple[int, int, int, int], shape: tuple[int, ...]) -> np.ndarray:
    """The cells brought up to their box by cv2.resize (reduced.grow_cells' way), zeros elsewhere."""
    top, bottom, left, right = box
    out = np.zeros(shape, np.uint8)
    out[top:bottom, left:right] = cv2.resize(np.ascontiguousarray(cells), (right - left, bottom - top),
                                             interpolation=cv2.INTER_LINEAR)
    return out


def opencv_mix(frame, alpha, plate, *, table=None, grey=False, light=None, edge=False, reach=None,
               reach_box=None, layer=None, layer_box=None):
    """plates_mix's arithmetic in OpenCV calls, over the whole frame (poster.py's and background_replace.py's
    OpenCV path, the same formula)."""
    graded = frame
    if table is not None:
        source = cv2.cvtColor(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR) if grey else frame
        graded = cv2.LUT(source, table)
    zeros = np.zeros_like(alpha)
    share = alpha if light is None else cv2.multiply(alpha, light, scale=_INV255)
    e = zeros
    if edge:
        e = cv2.subtract(cv2.convertScaleAbs(alpha, alpha=-2.0, beta=510.0), cv2.compare(alpha, 0, cv2.CMP_EQ))
    w = zeros if reach is None else cv2.multiply(grown(reach, reach_box, alpha.shape), alpha, scale=_INV255)
    k = cv2.bitwise_not(cv2.multiply(cv2.bitwise_not(e), cv2.bitwise_not(w), scale=_INV255))
    on_layer, layer_full = zeros.copy(), np.zeros_like(frame)
    if layer is not None:
        top, bottom, left, right = layer_box
        layer_full = grown(layer, layer_box, frame.shape)
        on_layer[top:bottom, left:right] = cv2.multiply(share, k, scale=_INV255)[top:bottom, left:right]
    on_frame = cv2.subtract(share, on_layer)
    out = cv2.add(cv2.multiply(graded, spread(on_frame), scale=_INV255),
                  cv2.multiply(layer_full, spread(on_layer), scale=_INV255))
    return cv2.add(out, cv2.multiply(plate, spread(cv2.bitwise_not(alpha)), scale=_INV255))


def small_layers(frame: np.ndarray, alpha: np.ndarray, box: tuple[int, int, int, int]):
    """A 3-channel layer on a quarter grid (cells under the person's box) and a 1-channel reach on an eighth
    grid, as the looks make them: real content from the photo and its mask."""
    height, width = alpha.shape
    small = cv2.resize(frame, (max(8, width // 4), max(8, height // 4)), interpolation=cv2.INTER_AREA)
    small_alpha = cv2.resize(alpha, (max(8, width // 8), max(8, height // 8)), interpolation=cv2.INTER_AREA)
    reach = cv2.GaussianBlur(cv2.bitwise_not(small_alpha), (0, 0), 2.0)
    sy, sx = small.shape[0] / height, small.shape[1] / width
    top, bottom, left, right = box
    cells = (int(left * sx), int(top * sy), int((right - left) * sx) // 2, int((bottom - top) * sy) // 2)
    layer, layer_box = cells_to_grow(small, height, width, cells)
    reach_cells, reach_box = box_cells(reach, height, width, box)
    return {"layer": layer, "layer_box": layer_box}, {"reach": reach_cells, "reach_box": reach_box}


@needs_compiled
@pytest.mark.parametrize("height,width", SIZES)
@pytest.mark.parametrize("variant", ["poster", "duotone", "replace", "edge only", "wrap only", "plain"])
def test_the_mix_gives_the_opencv_paths_pixels_exactly(height, width, variant):
    frame, _, alpha = photo_and_alpha(height, width)
    box = alpha_box(alpha)
    plate = cv2.GaussianBlur(frame[::-1].copy(), (0, 0), 5.0)
    light = cv2.resize(np.linspace(120, 255, 64, dtype=np.float32)[:, None], (width, height)).astype(np.uint8)
    layer, reach = small_layers(frame, alpha, box)
    options = {
        "poster": dict(table=teal_orange_lut(1.6, 0.45), light=light, edge=True, **layer),
        "duotone": dict(table=duotone_lut((64, 21, 29), (154, 197, 255), contrast=0.7), grey=True, light=light,
                        edge=True, **layer),
        "replace": dict(edge=True, **reach, **layer),
        "edge only": dict(edge=True, **layer),
        "wrap only": dict(**reach, **layer),
        "plain": {},
    }[variant]
    out = np.zeros_like(frame)
    compiled.plates_mix(frame, alpha, plate, out, box, **options)
    expected = opencv_mix(frame, alpha, plate, **options)
    assert np.array_equal(out, expected), f"{variant}: {int(cv2.absdiff(out, expected).max())} levels apart"
    assert np.array_equal(out[alpha == 0], plate[alpha == 0])   # nobody there: the plate's own pixels


@needs_compiled
def test_grown_layers_are_cv2_resizes_pixels_bit_for_bit():
    """The cells of a small grid brought up row by row in the pass: exactly cv2.resize's bilinear (its 11-bit
    weights and 16-bit rounding steps) at every ratio and size, 1 and 3 channels (through bgra and
    pop_person, which take them)."""
    rng = np.random.default_rng(17)
    frame, _, alpha = photo_and_alpha(361, 641)
    for trial in range(60):
        rows, cols = int(rng.integers(2, 70)), int(rng.integers(2, 130))
        height, width = rows * int(rng.integers(1, 7)) + int(rng.integers(0, 5)), cols * int(rng.integers(1, 7))
        height, width = min(height, 361), min(width, 641)
        rows, cols = min(rows, height), min(cols, width)
        top, left = int(rng.integers(0, 361 - height + 1)), int(rng.integers(0, 641 - width + 1))
        box = (top, top + height, left, left + width)
        cells = cv2.GaussianBlur(rng.integers(0, 256, (rows, cols, 3), np.uint8), (3, 3), 0)
        out = np.empty(frame.shape[:2] + (4,), np.uint8)
        full = np.full(alpha.shape, 255, np.uint8)
        compiled.bgra(frame, alpha, out, layer=cells, layer_box=box, weight=full, box=box)
        expected = cv2.resize(cells, (width, height), interpolation=cv2.INTER_LINEAR)
        assert np.array_equal(out[top:top + height, left:left + width, :3], expected), (rows, cols, height, width)
        # one channel: colour pop's reach and glow (keep = alpha - wrapped, light has glow's share)
        grey_cells = np.ascontiguousarray(cells[..., 1])
        keep, light = np.zeros_like(alpha), np.zeros_like(alpha)
        solid = np.full_like(alpha, 255)
        compiled.pop_person(frame, solid, np.zeros_like(alpha), np.empty_like(frame), box, reach=grey_cells,
                            glow=np.full_like(grey_cells, 255), grown_box=box, keep=keep, light=light)
        reach_full = cv2.resize(grey_cells, (width, height), interpolation=cv2.INTER_LINEAR)
        assert np.array_equal(light[top:top + height, left:left + width], reach_full), (rows, cols, height, width)


@needs_compiled
@pytest.mark.parametrize("height,width", SIZES)
def test_colour_pops_passes_give_the_opencv_paths_pixels_exactly(height, width):
    frame, _, alpha = photo_and_alpha(height, width)
    table = curve_lut(s_curve(0.45) * 0.9)
    grey, out = np.empty(alpha.shape, np.uint8), np.zeros_like(frame)
    compiled.grey_scene(frame, table, grey, out)
    expected_grey = cv2.LUT(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), table)
    assert np.array_equal(grey, expected_grey) and np.array_equal(out, spread(expected_grey))
    # the person over it, with the wrap's glow and reach grown from their half grid
    box = alpha_box(alpha)
    half = (max(8, width // 8), max(8, height // 8))
    glow = cv2.GaussianBlur(cv2.resize(grey, half, interpolation=cv2.INTER_AREA), (0, 0), 3.0)
    reach = cv2.GaussianBlur(cv2.bitwise_not(cv2.resize(alpha, half, interpolation=cv2.INTER_AREA)), (0, 0), 2.0)
    glow_cells, grown_box = box_cells(glow, height, width, box)
    reach_cells, _ = box_cells(reach, height, width, box)
    keep, light = np.zeros_like(alpha), np.zeros_like(alpha)
    scene = out.copy()
    compiled.pop_person(frame, alpha, grey, out, box, reach=reach_cells, glow=glow_cells, grown_box=grown_box,
                        keep=keep, light=light)
    wrapped = cv2.multiply(cv2.multiply(grown(reach_cells, grown_box, alpha.shape), alpha, scale=_INV255), alpha,
                           scale=_INV255)
    expected_keep = cv2.subtract(alpha, wrapped)
    expected_light = cv2.add(cv2.multiply(cv2.bitwise_not(alpha), grey, scale=_INV255),
                             cv2.multiply(wrapped, grown(glow_cells, grown_box, alpha.shape), scale=_INV255))
    expected = cv2.add(cv2.multiply(frame, spread(expected_keep), scale=_INV255), spread(expected_light))
    y0, y1, x0, x1 = box
    assert np.array_equal(out[y0:y1, x0:x1], expected[y0:y1, x0:x1])
    assert np.array_equal(keep[y0:y1, x0:x1], expected_keep[y0:y1, x0:x1])
    outside = np.ones(alpha.shape, bool)
    outside[y0:y1, x0:x1] = False
    assert np.array_equal(out[outside], scene[outside])   # beside the box: the grey scene as it was
    # keep_add: a still scene's person again from the kept shares
    again = scene.copy()
    compiled.keep_add(frame[y0:y1, x0:x1], keep[y0:y1, x0:x1], light[y0:y1, x0:x1], again[y0:y1, x0:x1])
    assert np.array_equal(again, out)


@needs_compiled
@pytest.mark.parametrize("height,width", SIZES)
def test_the_bgra_assembly_is_split_and_merge_exactly_and_its_alpha_is_the_masks(height, width):
    frame, _, alpha = photo_and_alpha(height, width)
    out = np.empty(frame.shape[:2] + (4,), np.uint8)
    compiled.bgra(frame, alpha, out)
    assert np.array_equal(out, cv2.merge([*cv2.split(frame), alpha]))
    # with the edge colour blended in inside a box (weight read there only: garbage outside it)
    box = alpha_box(alpha)
    layer, _ = small_layers(frame, alpha, box)
    top, bottom, left, right = layer["layer_box"]
    inner = (max(top, box[0]), min(bottom, box[1]), max(left, box[2]), min(right, box[3]))
    weight = np.random.default_rng(2).integers(0, 256, alpha.shape, np.uint8)
    compiled.bgra(frame, alpha, out, layer=layer["layer"], layer_box=layer["layer_box"], weight=weight, box=inner)
    y0, y1, x0, x1 = inner
    expected = frame.copy()
    up = grown(layer["layer"], layer["layer_box"], frame.shape)
    w = spread(weight)
    blended = cv2.add(cv2.multiply(up, w, scale=_INV255), cv2.multiply(frame, cv2.bitwise_not(w), scale=_INV255))
    expected[y0:y1, x0:x1] = blended[y0:y1, x0:x1]
    assert np.array_equal(out[..., :3], expected)
    assert np.array_equal(out[..., 3], alpha)


@needs_compiled
@pytest.mark.parametrize("height,width", SIZES)
def test_the_alpha_and_its_boxes_are_convert_scale_abs_and_bounding_rects_exactly(height, width):
    """alpha_from_mask: blend.mask_to_alpha's pixels (rounding to even at the half levels, saturating, NaN and
    negative values as convertScaleAbs takes them) and, in the same pass, the boxes of alpha > 0 and of the
    soft edge (0 < alpha < 255)."""
    _, mask, _ = photo_and_alpha(height, width)
    mask = mask.copy()
    mask[0, :8] = [0.5 / 255, 1.5 / 255, 2.5 / 255, -0.2, np.nan, np.inf, 1.7, 254.5 / 255]
    alpha = np.empty(mask.shape, np.uint8)
    box, soft = compiled.alpha_from_mask(mask, alpha)
    assert np.array_equal(alpha, cv2.convertScaleAbs(mask, alpha=255.0))
    x, y, w, h = cv2.boundingRect(alpha)
    assert box == (y, y + h, x, x + w)
    x, y, w, h = cv2.boundingRect(cv2.inRange(alpha, 1, 254))
    assert soft == (y, y + h, x, x + w)
    assert compiled.alpha_from_mask(np.zeros((9, 11), np.float32), np.empty((9, 11), np.uint8)) == (None, None)
    solid = compiled.alpha_from_mask(np.ones((9, 11), np.float32), np.empty((9, 11), np.uint8))
    assert solid == ((0, 9, 0, 11), None)


@needs_compiled
def test_a_mask_of_another_type_or_layout_gives_the_same_alpha():
    """The looks hand the pass their mask as it comes: float64, or a view whose rows are not contiguous (a
    transposed array), gives the float32 mask's alpha and box."""
    _, mask, alpha = photo_and_alpha(480, 640)
    transposed = np.ascontiguousarray(mask.T).T        # the same values, rows strided
    for variant in (mask.astype(np.float64), transposed):
        got, box = alpha_and_box(variant)
        assert np.array_equal(got, alpha) and box == alpha_box(alpha)


@needs_compiled
def test_bad_arguments_name_the_argument_and_what_was_expected():
    frame, _, alpha = photo_and_alpha(361, 641)
    out, plate = np.empty_like(frame), frame.copy()
    box = alpha_box(alpha)
    layer, reach = small_layers(frame, alpha, box)
    cases = [
        (lambda: compiled.plates_mix(frame.astype(np.float32), alpha, plate, out, box), TypeError, "frame"),
        (lambda: compiled.plates_mix(frame, alpha[:-1], plate, out, box), ValueError, "alpha"),
        (lambda: compiled.plates_mix(frame, alpha, plate, out, (0, 400, 0, 10)), ValueError, "box"),
        (lambda: compiled.plates_mix(frame, alpha, plate, out, (5, 5, 0, 10)), ValueError, "box"),
        (lambda: compiled.plates_mix(frame, alpha, plate, out, "box"), TypeError, "box"),
        (lambda: compiled.plates_mix(frame, alpha, plate, out, box, table=np.zeros(256, np.uint8)), ValueError,
         "table"),
        (lambda: compiled.plates_mix(frame, alpha, plate, out, box, layer=layer["layer"]), ValueError, "layer_box"),
        (lambda: compiled.plates_mix(frame, alpha, plate, out, box, layer=np.zeros((400, 700, 3), np.uint8),
                                     layer_box=layer["layer_box"]), ValueError, "layer"),
        (lambda: compiled.plates_mix(frame, alpha, plate, out, box, reach=reach["reach"],
                                     reach_box=(box[0] + 1, 361, 0, 641)), ValueError, "reach_box"),
        (lambda: compiled.plates_mix(frame, alpha, plate, np.empty_like(frame)[..., ::-1], box), ValueError, "out"),
        (lambda: compiled.grey_scene(frame, np.zeros(255, np.uint8), alpha.copy(), out), ValueError, "table"),
        (lambda: compiled.grey_scene(frame, np.zeros(256, np.uint8), alpha.copy(), out[..., :2].copy()),
         ValueError, "out"),
        (lambda: compiled.keep_add(frame, alpha, alpha[:, :5], out), ValueError, "light"),
        (lambda: compiled.pop_person(frame, alpha, alpha, out, box, reach=reach["reach"]), ValueError, "grown_box"),
        (lambda: compiled.bgra(frame, alpha, out), ValueError, "out"),
        (lambda: compiled.alpha_from_mask(alpha, alpha.copy()), TypeError, "mask: expected float32"),
        (lambda: compiled.alpha_from_mask(np.zeros((4, 4), np.float32), alpha), ValueError, "alpha"),
        (lambda: compiled.bgra(frame, alpha, np.empty(frame.shape[:2] + (4,), np.uint8), layer=layer["layer"]),
         ValueError, "layer_box"),
        (lambda: compiled.bgra(frame, alpha, np.empty(frame.shape[:2] + (4,), np.uint8),
                               layer=np.zeros((10, 10, 3), np.uint8), layer_box=(0, 40, 0, 40), weight=alpha,
                               box=(0, 50, 0, 50)), ValueError, "box: expected inside layer_box"),
    ]
    for index, (call, error, name) in enumerate(cases):
        with pytest.raises(error, match=name):
            call()
            pytest.fail(f"case {index} did not raise")


#: a child process renders a look on the real frame and mask: moving, then still (keeping its mix), then the
#: same mask again (the kept mix reused), at the frame size it is given
CHILD = """
import json, sys
import cv2, numpy as np
from portraitflow.nodes.looks.catalogue import make_look
looks, frame_path, mask_path, out_path = sys.argv[1:5]
frame, mask = cv2.imread(frame_path), np.load(mask_path)
results = {}
for index, (name, settings) in enumerate(json.loads(looks)):
    look = make_look(name, settings)
    renders = [look.render(frame, mask)]
    look.scene_still = True
    renders.append(look.render(frame, mask))
    look.same_mask = True
    renders.append(look.render(frame, mask))
    results[str(index)] = np.stack(renders)
np.savez(out_path, **results)
"""

LOOKS = [
    ("poster", {}), ("poster", {"grade": "duotone"}), ("poster", {"decontaminate": False}),
    ("replace", {}), ("replace", {"decontaminate": False, "light_wrap": 0.3}), ("replace", {"light_wrap": 0.0}),
    ("replace", {"background": "greyscale", "greyscale_contrast": 0.45, "background_dim": 0.1, "light_wrap": 0.3}),
    ("replace", {"background": "greyscale", "light_wrap": 0.0}),
    ("replace", {"background": "transparent"}), ("cutout", {}), ("cutout", {"decontaminate": False}),
]


@needs_compiled
@pytest.mark.parametrize("height,width", SIZES)
def test_every_plates_look_renders_the_same_pixels_with_and_without_the_compiled_passes(tmp_path, height, width):
    """The looks themselves, in child processes with PORTRAITFLOW_COMPILED=1 and =0, on the real photo and its
    real mask: the same pixels (and the cut-out's alpha is the mask's, exactly)."""
    frame, mask, alpha = photo_and_alpha(height, width)
    frame_path, mask_path = tmp_path / "frame.png", tmp_path / "mask.npy"
    cv2.imwrite(str(frame_path), frame)
    np.save(mask_path, mask)
    both = []
    for switch in ("1", "0"):
        out_path = tmp_path / f"{switch}.npz"
        result = subprocess.run([sys.executable, "-c", CHILD, json.dumps(LOOKS), str(frame_path), str(mask_path),
                                 str(out_path)], env={**os.environ, SWITCH: switch}, capture_output=True, text=True,
                                timeout=300)
        assert result.returncode == 0, result.stderr
        both.append(np.load(out_path))
    for index, (name, settings) in enumerate(LOOKS):
        renders = [pictures[str(index)] for pictures in both]
        assert renders[0].shape == renders[1].shape
        assert np.array_equal(renders[0], renders[1]), (
            f"{name} {settings}: {int(np.abs(renders[0].astype(int) - renders[1]).max())} levels apart")
        if renders[0].shape[-1] == 4:
            assert np.array_equal(renders[0][..., 3], np.stack([alpha] * 3))
        assert renders[0].std() > 10, f"{name} {settings}: a flat picture"   # something was drawn


@needs_compiled
@pytest.mark.parametrize("recipe", ["poster", "replace", "cutout", "colour_pop"])
def test_the_cli_renders_each_plates_recipe_alike_both_ways_at_an_odd_size(tmp_path, recipe):
    """The real model through the CLI on the photo at 641x361, once as built and once with
    PORTRAITFLOW_COMPILED=0. The looks' own passes give the same pixels; the mask differs by the guided
    filter's float apply (nodes/frame_passes.c, within 1e-6), which can move a pixel by a level."""
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), cv2.resize(cv2.imread(str(PHOTO)), (641, 361), interpolation=cv2.INTER_AREA))
    pictures = []
    for switch in ("1", "0"):
        out = tmp_path / f"{switch}.png"
        result = subprocess.run([sys.executable, "-m", "portraitflow", "render", str(photo), "--recipe", recipe,
                                 "-o", str(out)], env={**os.environ, SWITCH: switch}, capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        pictures.append(cv2.imread(str(out), cv2.IMREAD_UNCHANGED))
    assert pictures[0].shape[:2] == (361, 641) and pictures[0].shape == pictures[1].shape
    difference = cv2.absdiff(*pictures)
    assert difference.max() <= 2 and np.mean(difference) < 0.01, (int(difference.max()), float(np.mean(difference)))
