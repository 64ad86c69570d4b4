"""The double exposure's and the stencil's compiled passes (nodes/looks/exposure_pass.c, stencil_pass.c)
against the OpenCV path they stand for: both are integer arithmetic with OpenCV's rounding, so the pictures
are the same pixels, exactly, at every size and setting; checked on real photos and their real masks, with
the looks drawn in this process (compiled) and in a child process with PORTRAITFLOW_COMPILED=0, on the
passes' own arithmetic against the OpenCV calls, and through the real CLI and model. Bad arguments name
the argument.

Not for: their speed (bench/chain.py, bench/hotspots.py; never asserted).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from portraitflow.nodes.frame_passes import SWITCH, compiled
from portraitflow.nodes.looks.catalogue import make_look
from portraitflow.recipes.loader import load_recipe

from support.paths import PARITY

needs_compiled = pytest.mark.skipif(compiled is None, reason=f"the compiled passes are not built, or {SWITCH}=0")

#: (height, width): 480p, 720p, 1080p and an odd size whose grids share no period with the frame
SIZES = [(480, 854), (720, 1280), (1080, 1920), (361, 641)]
#: (recipe, settings over the recipe's): all three blends of the double exposure, the stencil's tones,
#: spray (the mist beyond the person's box), no overspray, a caption
CASES = [("double_exposure", {"blend": "screen"}), ("double_exposure", {"blend": "multiply"}),
         ("double_exposure", {"blend": "lighten", "face_clear": 0.3}),
         ("double_exposure", {"blend": "multiply", "decontaminate": False, "fade": 0.0}),
         ("stencil", {}), ("stencil", {"tones": 2, "spray": 0.6}),
         ("stencil", {"overspray": 0.0, "spray": 0.3, "title": "night shift"})]
PHOTOS = [("astronaut_in_coffee_1280x720", "selfie_segmentation_landscape__full"),
          ("astronaut_512", "selfie_segmentation__full"), ("camera_512", "selfie_segmentation__full")]

#: the same renders in a child process, with the switch as given (the fallback: PORTRAITFLOW_COMPILED=0)
RENDER_SCRIPT = """
import sys
import numpy as np
sys.path[:0] = sys.argv[1:3]
from test_look_passes import render_all
np.savez_compressed(sys.argv[3], **render_all())
"""


def frames_and_masks(height: int, width: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each real photo at this size with its real MediaPipe mask, then mirrored (the person's box moves)."""
    pairs = []
    for photo_name, mask_name in PHOTOS:
        photo = cv2.resize(cv2.imread(str(PARITY / f"{photo_name}.png")), (width, height), interpolation=cv2.INTER_AREA)
        mask = np.load(PARITY / f"{photo_name}.mediapipe_masks.npz")[mask_name]
        mask = np.clip(cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR), 0.0, 1.0)
        pairs.append((photo, mask))
        pairs.append((np.ascontiguousarray(photo[:, ::-1]), np.ascontiguousarray(mask[:, ::-1])))
    return pairs


def render_all() -> dict[str, np.ndarray]:
    """Every case at every size on every photo, one look per case and size drawing the frames in turn."""
    pictures = {}
    for case, (recipe, settings) in enumerate(CASES):
        base = load_recipe(recipe)
        for height, width in SIZES:
            look = make_look(base.look, {**base.settings, **settings})
            for index, (frame, mask) in enumerate(frames_and_masks(height, width)):
                pictures[f"{case}-{height}x{width}-{index}"] = look.render(frame, mask)
    return pictures


@needs_compiled
def test_the_looks_draw_the_same_pixels_with_and_without_their_compiled_passes(tmp_path: Path) -> None:
    fallback = tmp_path / "fallback.npz"
    result = subprocess.run([sys.executable, "-c", RENDER_SCRIPT, str(Path(__file__).parent),
                             str(Path(__file__).parent.parent), str(fallback)],
                            env={**os.environ, SWITCH: "0"}, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    expected = np.load(fallback)
    pictures = render_all()
    assert set(pictures) == set(expected.files) and len(pictures) == len(CASES) * len(SIZES) * 2 * len(PHOTOS)
    for name, picture in pictures.items():
        assert picture.shape == expected[name].shape, name
        different = np.count_nonzero(picture != expected[name])
        assert different == 0, f"{name} ({CASES[int(name.split('-')[0])]}): {different} values differ"
    # and the pictures are the looks' (not a ground or a wall alone): the person changes most of the box
    photo = frames_and_masks(720, 1280)[0][0]
    for case, (recipe, settings) in enumerate(CASES):
        look = make_look(load_recipe(recipe).look, {**load_recipe(recipe).settings, **settings})
        empty = look.render(photo, np.zeros((720, 1280), np.float32))
        assert np.count_nonzero((pictures[f"{case}-720x1280-0"] != empty).any(axis=2)) > 0.05 * 720 * 1280


@needs_compiled
def test_the_exposure_pass_is_the_opencv_composite_on_any_silhouette() -> None:
    """The look's own OpenCV composite (_compose_opencv, the fallback) against the pass on a real portrait with
    a silhouette of every level, blocks of 0 and 255 (the rows and spans the pass skips), boxes that touch
    the frame's edges and boxes that do not, all three blends."""
    height, width = 361, 641
    photo, mask = frames_and_masks(height, width)[0]
    rng = np.random.default_rng(17)
    silhouette = rng.integers(0, 256, (height, width), np.uint8)
    silhouette[:40] = 0
    silhouette[100:140, 200:500] = 255
    silhouette[:, :25] = 0
    grey = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)
    for blend in ("screen", "multiply", "lighten"):
        base = load_recipe("double_exposure")
        look = make_look(base.look, {**base.settings, "blend": blend})
        look.render(photo, mask)   # prepared at this size
        fill = look._fill_for(7, photo)
        for box in [(0, height, 0, width), (33, 300, 17, 600), (1, 2, 3, 4)]:
            expected = look._compose_opencv(grey.copy(), fill, silhouette, box, np.empty_like(photo))
            out = np.full_like(photo, 7)
            look._compose(grey.copy(), fill, silhouette, box, out)
            assert np.array_equal(out, expected), (blend, box)


@needs_compiled
def test_x_over_255_is_rounded_as_opencvs_multiply_for_every_pair_of_levels() -> None:
    """Every product of two levels through the stencil's shade (one multiply): OpenCV's scale 1/255."""
    levels = np.arange(256, dtype=np.uint8)
    wall = np.ascontiguousarray(np.broadcast_to(levels[:, None, None], (256, 256, 3)))
    shade = np.ascontiguousarray(np.broadcast_to(levels[None, :], (256, 256)))
    out = np.empty_like(wall)
    compiled.stencil_shade(wall, shade, out)
    assert np.array_equal(out, cv2.multiply(wall, cv2.merge([shade] * 3), scale=1 / 255))


@needs_compiled
@pytest.mark.parametrize("height,width", [(270, 480), (361, 641), (1, 9), (2, 2)])
def test_the_paint_pass_is_the_opencv_paint(height: int, width: int) -> None:
    """Covers thresholded and counted, cv2.medianBlur's 3x3 on the box (its border replicated), each tone's
    plate through the cut: against those OpenCV calls on real-looking layers (grown from a small grid, so
    they have edges where the median works) and a cut with holes and closed rows."""
    rng = np.random.default_rng(height)
    small = (max(1, width // 16), max(1, height // 16))
    covers = [cv2.resize(rng.integers(0, 256, small[::-1], np.uint8), (width, height)) for _ in range(2)]
    covers[1] = cv2.min(covers[1], covers[0])   # the lighter layer inside the darker, as the looks cut them
    cut = np.where(cv2.resize(rng.random(small[::-1], np.float32), (width, height)) > 0.3, 255, 0).astype(np.uint8)
    cut[: height // 5] = 0
    relief = rng.integers(120, 256, (height, width), np.uint8)
    colours = np.array([[58, 32, 22], [43, 51, 200], [195, 227, 241]], np.uint8)
    wall = rng.integers(0, 256, (height, width, 3), np.uint8)
    for count in (0, 1, 2):
        index = np.zeros((height, width), np.uint8)
        for cover in covers[:count]:
            index = cv2.add(index, cv2.threshold(cover, 127, 1, cv2.THRESH_BINARY)[1])
        index = cv2.medianBlur(index, 3)
        expected = wall.copy()
        for tone in range(count + 1):
            plate = cv2.multiply(np.full_like(wall, colours[tone]), cv2.merge([relief] * 3), scale=1 / 255)
            chosen = cv2.bitwise_and(cv2.compare(index, tone, cv2.CMP_EQ), cut)
            cv2.copyTo(plate, chosen, expected)
        out = wall.copy()
        compiled.stencil_paint(covers[:count], cut, colours[:count + 1], relief, out)
        assert np.array_equal(out, expected), count
        assert np.array_equal(out[cut == 0], wall[cut == 0])


@needs_compiled
def test_bad_arguments_name_the_argument_and_what_was_expected() -> None:
    frame = np.zeros((72, 128, 3), np.uint8)
    grey = np.zeros((72, 128), np.uint8)
    lut = np.arange(256, dtype=np.uint8).reshape(1, 256)
    fade = np.full((72, 1), 255, np.uint8)
    with pytest.raises(ValueError, match=r"blend: expected 'screen', 'multiply' or 'lighten', got 'overlay'"):
        compiled.exposure_compose(grey, lut, grey, fade, frame, frame, frame.copy(), "overlay")
    with pytest.raises(ValueError, match=r"tone_lut: expected 256 contiguous uint8 levels, got 1 x 128 x 1"):
        compiled.exposure_compose(grey, lut[:, :128], grey, fade, frame, frame, frame.copy(), "screen")
    with pytest.raises(ValueError, match=r"fade: expected 72 x 1 \(one level a row\), got 72 x 128 x 1"):
        compiled.exposure_compose(grey, lut, grey, grey, frame, frame, frame.copy(), "screen")
    with pytest.raises(ValueError, match=r"silhouette: expected the size of grey, 72 x 128 x 1, got 72 x 64 x 1"):
        compiled.exposure_compose(grey, lut, grey[:, :64], fade, frame, frame, frame.copy(), "screen")
    with pytest.raises(ValueError, match=r"out: expected a buffer of its own \(not ground or fill\)"):
        compiled.exposure_compose(grey, lut, grey, fade, frame, frame.copy(), frame, "multiply")
    with pytest.raises(TypeError, match=r"edge, edge_weight: expected both or neither"):
        compiled.exposure_compose(grey, lut, grey, fade, frame, frame, frame.copy(), "screen", grey)
    with pytest.raises(ValueError, match=r"edge_weight: expected the size of grey, 72 x 128 x 1, got 72 x 128 x 3"):
        compiled.exposure_compose(grey, lut, grey, fade, frame, frame, frame.copy(), "screen", grey, frame)
    with pytest.raises(TypeError, match=r"grey: expected uint8, got items of format 'f'"):
        compiled.exposure_compose(grey.astype(np.float32), lut, grey, fade, frame, frame, frame.copy(), "screen")
    colours = np.zeros((3, 3), np.uint8)
    with pytest.raises(ValueError, match=r"colours: expected 2 tones x 3 channels \(one tone more than covers\)"):
        compiled.stencil_paint([grey], grey, colours, grey, frame.copy())
    with pytest.raises(ValueError, match=r"covers: expected 0 to 2 covers, got 3"):
        compiled.stencil_paint([grey] * 3, grey, colours, grey, frame.copy())
    with pytest.raises(ValueError, match=r"cut: expected one channel, got 3"):
        compiled.stencil_paint([grey, grey], frame, colours, grey, frame.copy())
    with pytest.raises(ValueError, match=r"covers\[1\]: expected the size of out, 72 x 128 x 1, got 72 x 100"):
        compiled.stencil_paint([grey, grey[:, :100]], grey, colours, grey, frame.copy())
    with pytest.raises(ValueError, match=r"shade: expected one channel, got 3"):
        compiled.stencil_shade(frame, frame, frame.copy())
    with pytest.raises(TypeError, match=r"out: expected a writable numpy array"):
        readonly = frame.copy()
        readonly.flags.writeable = False
        compiled.stencil_shade(frame, grey, readonly)


CLI_CASES = [("double_exposure", ["--set", "blend=screen"]), ("double_exposure", ["--set", "blend=multiply"]),
             ("double_exposure", ["--set", "blend=lighten"]), ("stencil", ["--set", "tones=2", "--set", "spray=0.5"]),
             ("stencil", [])]


@needs_compiled
@pytest.mark.slow
@pytest.mark.parametrize("recipe,settings", CLI_CASES)
def test_the_cli_renders_the_same_picture_with_and_without_the_compiled_passes(tmp_path: Path, model_cache: Path,
                                                                              recipe: str, settings: list[str]) -> None:
    """The real CLI and model on a real photo at an odd size, both ways: the same pixels."""
    photo = PARITY / "astronaut_in_coffee_1280x720.png"
    pictures = []
    for switch in ("1", "0"):
        out = tmp_path / f"{switch}.png"
        result = subprocess.run([sys.executable, "-m", "portraitflow", "render", str(photo), "--recipe", recipe,
                                 *settings, "--size", "641x361", "-o", str(out)], env={**os.environ, SWITCH: switch},
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        pictures.append(cv2.imread(str(out), cv2.IMREAD_UNCHANGED))
    assert pictures[0].shape == (361, 641, 3)
    assert np.array_equal(pictures[0], pictures[1])
