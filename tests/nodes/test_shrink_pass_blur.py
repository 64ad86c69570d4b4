"""The blur look with its background grown inside the compiled blend from the small grid (nodes/frame_passes.c,
frame_passes.h's Grown) and its frame shrunk by the compiled shrink (nodes/shrink_pass.c): the same pixels as
its OpenCV path, exactly. Looks rendered in child processes with PORTRAITFLOW_COMPILED=1 and =0 on the sample
source's real frames and the real photos with their real masks (moving, still, the same mask again), at 480p,
720p, 1080p and odd sizes; and the blur recipe through the CLI with the real model both ways."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from portraitflow.graph.testing import NodeHarness
from portraitflow.nodes.frame_passes import SWITCH, compiled
from portraitflow.nodes.looks.blend import mask_to_alpha

from support.paths import PARITY

needs_compiled = pytest.mark.skipif(compiled is None, reason="the compiled passes are off (not built, or PORTRAITFLOW_COMPILED=0)")
PHOTO = PARITY / "astronaut_in_coffee_1280x720.png"
MASKS = PARITY / "astronaut_in_coffee_1280x720.mediapipe_masks.npz"
SIZES = [(480, 640), (720, 1280), (1080, 1920), (361, 641), (483, 857)]


def real_mask(height: int, width: int) -> np.ndarray:
    """The photo's real (MediaPipe) mask at height x width, softened as the fringe does (float32 0..1)."""
    mask = np.load(MASKS)["selfie_segmentation_landscape__full"]
    return cv2.GaussianBlur(cv2.resize(mask, (width, height)), (0, 0), max(1.0, height / 360))


@pytest.fixture(scope="module")
def sample_frames() -> list[np.ndarray]:
    """Three of the sample source's real 720p frames, a second apart (the camera moves over a real photo)."""
    packets = NodeHarness("sample_source", {"frames": 61}).run()["frame"]
    return [packets[i].payload for i in (0, 30, 60)]


#: a child process renders the blur look on each frame with its mask: moving, then a still scene (the
#: background kept), then the same mask again (the kept background reused), then moving again
CHILD = """
import json, sys
import numpy as np
from portraitflow.nodes.frame_passes import compiled
from portraitflow.nodes.looks.catalogue import make_look
settings_list, frames_path, out_path, switch = sys.argv[1:5]
assert (compiled is not None) == (switch == "1"), compiled
data = np.load(frames_path)
results = {}
for index, settings in enumerate(json.loads(settings_list)):
    for name in sorted(f for f in data.files if f.startswith("frame")):
        frame, mask = data[name], data[name.replace("frame", "mask")]
        look = make_look("blur", settings)
        renders = [look.render(frame, mask)]
        look.scene_still = True
        renders.append(look.render(frame, mask))
        look.same_mask = True
        renders.append(look.render(np.ascontiguousarray(frame[:, ::-1]), mask))   # the kept background again
        look.same_mask = look.scene_still = False
        renders.append(look.render(frame, mask))
        renders.append(look.render(frame, None))   # no mask yet: the background alone
        results[f"{index}.{name}"] = np.stack(renders)
np.savez(out_path, **results)
"""

SETTINGS = [{}, {"radius": 0.05, "bokeh": 1.0}, {"radius": 0.004, "background_dim": 0.0, "work_long_side": 640}]


def render_both_ways(tmp_path, frames: dict[str, np.ndarray]) -> list:
    frames_path = tmp_path / "frames.npz"
    np.savez(frames_path, **frames)
    both = []
    for switch in ("1", "0"):
        out_path = tmp_path / f"{switch}.npz"
        result = subprocess.run([sys.executable, "-c", CHILD, json.dumps(SETTINGS), str(frames_path), str(out_path),
                                 switch], env={**os.environ, SWITCH: switch}, capture_output=True, text=True,
                                timeout=300)
        assert result.returncode == 0, result.stderr
        both.append(np.load(out_path))
    return both


def assert_same_pictures(both, frames: dict[str, np.ndarray]) -> None:
    assert sorted(both[0].files) == sorted(both[1].files) and len(both[0].files) == len(SETTINGS) * len(frames) // 2
    for name in both[0].files:
        compiled_path, opencv_path = both[0][name], both[1][name]
        assert compiled_path.shape == opencv_path.shape
        assert np.array_equal(compiled_path, opencv_path), (
            f"{name}: {int(np.abs(compiled_path.astype(int) - opencv_path).max())} levels apart")
        frame = frames[name.split(".", 1)[1]]
        # drawn: the person's pixels are the frame's own, the background's are blurred
        alpha = mask_to_alpha(frames[name.split(".", 1)[1].replace("frame", "mask")])
        assert np.array_equal(compiled_path[0][alpha == 255], frame[alpha == 255])
        if name.startswith("0."):   # the default look (the tiny radius barely blurs the smooth sample scene)
            background = alpha == 0
            assert cv2.absdiff(compiled_path[0], frame)[background].mean() > 2, f"{name}: the background is not blurred"


@needs_compiled
@pytest.mark.parametrize("height,width", SIZES)
def test_the_blur_look_gives_the_opencv_paths_pixels_on_the_real_photo(tmp_path, height, width):
    frame = cv2.resize(cv2.imread(str(PHOTO)), (width, height), interpolation=cv2.INTER_AREA)
    frames = {"frame0": frame, "mask0": real_mask(height, width)}
    assert_same_pictures(render_both_ways(tmp_path, frames), frames)


@needs_compiled
def test_the_blur_look_gives_the_opencv_paths_pixels_on_the_sample_sources_frames(tmp_path, sample_frames):
    mask = real_mask(720, 1280)
    frames = {}
    for index, frame in enumerate(sample_frames):
        frames[f"frame{index}"] = frame
        frames[f"mask{index}"] = np.roll(mask, 40 * index, axis=1)   # the person moves with the camera
    assert_same_pictures(render_both_ways(tmp_path, frames), frames)


@needs_compiled
def test_the_blends_grown_bottom_is_cv2_resizes_on_real_blurred_backgrounds(sample_frames):
    """The blur's own small grids (the real frames shrunk and blurred) grown in the blend: against cv2.resize
    to the frame's size and OpenCV's blend arithmetic, exactly, and the alpha's extremes are the layers."""
    alpha = mask_to_alpha(real_mask(720, 1280))
    for frame in sample_frames:
        for size in ((159, 89), (320, 180), (1280, 89), (41, 23), (1, 1)):
            grid = cv2.GaussianBlur(cv2.resize(frame, size, interpolation=cv2.INTER_AREA), (5, 5), 0)
            grown = cv2.resize(grid, (1280, 720), interpolation=cv2.INTER_LINEAR)
            spread = cv2.merge([alpha] * 3)
            expected = cv2.add(cv2.multiply(frame, spread, scale=1 / 255),
                               cv2.multiply(grown, cv2.bitwise_not(spread), scale=1 / 255))
            out = np.empty_like(frame)
            compiled.blend(frame, alpha, grid, alpha, out)
            assert np.array_equal(out, expected), size
            assert np.array_equal(out[alpha == 0], grown[alpha == 0])


@needs_compiled
def test_bad_bottoms_name_the_bottom_and_what_was_expected():
    frame = np.zeros((72, 128, 3), np.uint8)
    alpha = np.zeros((72, 128), np.uint8)
    cases = [
        (np.zeros((72, 129, 3), np.uint8), "bottom: expected at most 72 x 128 x 3 (a smaller grid is grown), got 72 x 129 x 3"),
        (np.zeros((9, 16, 4), np.uint8), "bottom: expected at most 72 x 128 x 3 (a smaller grid is grown), got 9 x 16 x 4"),
        (np.zeros((9, 16), np.uint8), "got 9 x 16 x 1"),
    ]
    for bottom, text in cases:
        with pytest.raises(ValueError, match=text.replace("(", r"\(").replace(")", r"\)")):
            compiled.blend(frame, alpha, bottom, alpha, frame.copy())
    with pytest.raises(TypeError, match="bottom: expected uint8"):
        compiled.blend(frame, alpha, np.zeros((9, 16, 3), np.float32), alpha, frame.copy())


@needs_compiled
@pytest.mark.parametrize("width,height", [(1280, 720), (641, 361)])
def test_the_blur_recipe_through_the_cli_gives_the_same_picture_both_ways(tmp_path, width, height):
    """The real model, the chain's shared shrink and the blur look, once as built and once with
    PORTRAITFLOW_COMPILED=0."""
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), cv2.resize(cv2.imread(str(PHOTO)), (width, height), interpolation=cv2.INTER_AREA))
    pictures = []
    for switch in ("1", "0"):
        out = tmp_path / f"{switch}.png"
        result = subprocess.run([sys.executable, "-m", "portraitflow", "render", str(photo), "--recipe", "blur",
                                 "-o", str(out)], env={**os.environ, SWITCH: switch}, capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        pictures.append(cv2.imread(str(out)))
    assert pictures[0].shape == (height, width, 3)
    assert np.array_equal(pictures[0], pictures[1]), int(cv2.absdiff(*pictures).max())
    assert cv2.absdiff(pictures[0], cv2.imread(str(photo))).mean() > 1   # the background was blurred
