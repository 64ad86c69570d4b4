"""Outputs keep the input's resolution (1080p, 4K, a 3000x4000 photo), the looks look the same at 4K as at
720p, and --size / --max-size choose another size: real model, real PyAV files, the real CLI in a process."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from portraitflow.recipes.loader import list_recipes, load_recipe
from portraitflow.recipes.still import render_still

from support.paths import PARITY

RECIPES = list_recipes()   # every bundled recipe, new ones included


def portraitflow(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "portraitflow", *argv], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def upscaled(name: str, size: tuple[int, int], path: Path) -> Path:
    image = cv2.imread(str(PARITY / name), cv2.IMREAD_COLOR)
    cv2.imwrite(str(path), cv2.resize(image, size, interpolation=cv2.INTER_CUBIC))
    return path


def make_video(path: Path, size: tuple[int, int], frames: int, fps: int = 25) -> np.ndarray:
    """A clip of the coffee-table astronaut at ``size``, drifting a few px a frame; returns frame 0."""
    width, height = size
    photo = cv2.resize(cv2.imread(str(PARITY / "astronaut_in_coffee_1280x720.png")), (width, height),
                       interpolation=cv2.INTER_CUBIC)
    first = None
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            image = np.roll(photo, 3 * i, axis=1)
            first = image if first is None else first
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return first


def decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]


def test_a_3000x4000_photo_renders_at_3000x4000(tmp_path: Path) -> None:
    photo = upscaled("astronaut_512.png", (3000, 4000), tmp_path / "photo.jpg")
    out = tmp_path / "stencil.png"
    run = portraitflow("render", str(photo), "--recipe", "stencil", "-o", str(out), "--set", "title=MY FILM")
    assert run.returncode == 0, run.stderr
    assert "3000x4000" in run.stdout
    assert cv2.imread(str(out)).shape == (4000, 3000, 3)


@pytest.mark.parametrize("recipe", RECIPES)
def test_a_look_at_4k_is_the_720p_look_at_four_times_the_pixels(recipe: str, tmp_path: Path) -> None:
    """Radius, feather, type and textures are fractions of the frame: the 4K render of a 4K copy of a
    photo, brought down to 720p, matches the 720p render of the photo itself."""
    small = PARITY / "astronaut_in_coffee_1280x720.png"
    big = upscaled(small.name, (3840, 2160), tmp_path / "in4k.png")
    settings = {"title": "HOPE"} if recipe in ("poster", "stencil") else None
    at_720 = cv2.imread(str(render_still(load_recipe(recipe), small, tmp_path / "720.png", settings)))
    at_4k = cv2.imread(str(render_still(load_recipe(recipe), big, tmp_path / "4k.png", settings)))
    assert at_720.shape == (720, 1280, 3) and at_4k.shape == (2160, 3840, 3)
    shown = cv2.resize(at_4k, (1280, 720), interpolation=cv2.INTER_AREA).astype(np.float32)
    diff = np.abs(shown - at_720.astype(np.float32)).mean(axis=2)
    # measured: 0.5-0.6 for the blurs and replacements, 2.3 poster (type hinting), 3.5 stencil (droplets
    # are per pixel); a blur radius fixed in pixels (a third of the fraction at 4K) gives 5.6, coarse 5.3
    assert diff.mean() < 5.0, diff.mean()
    coarse = [cv2.resize(x, (160, 90), interpolation=cv2.INTER_AREA)
              for x in (shown, at_720.astype(np.float32))]
    assert np.abs(coarse[0] - coarse[1]).mean() < 2.5


def test_a_1080p_video_comes_out_1080p_with_every_frame(tmp_path: Path) -> None:
    source, out = tmp_path / "in.mp4", tmp_path / "out.mp4"
    make_video(source, (1920, 1080), frames=12)
    run = portraitflow("run", "--input", str(source), "--output", str(out), "--quiet")
    assert run.returncode == 0, run.stderr
    frames = decoded(out)
    assert len(frames) == 12 and frames[0].shape == (1080, 1920, 3)


def test_size_covers_and_crops_the_centre(tmp_path: Path) -> None:
    """1920x1080 -> --size 720x720: scaled by 2/3 to 1280x720, the centre 720 columns kept. The graph
    has no look (capture -> output), so the pixels can be checked against the expected crop."""
    source, out = tmp_path / "in.mp4", tmp_path / "out.mp4"
    first = make_video(source, (1920, 1080), frames=6)
    graph = tmp_path / "plain.toml"
    graph.write_text('[nodes.capture]\ntype = "video_source"\noptions = { path = "x.mp4" }\n'
                     '[nodes.output]\ntype = "video_sink"\ninputs = { frame = "capture.frame" }\n'
                     'options = { path = "y.mp4" }\n')
    run = portraitflow("run", "--graph", str(graph), "--input", str(source), "--output", str(out),
                       "--size", "720x720")
    assert run.returncode == 0, run.stderr
    assert "output size: 720x720 (cover, centre-cropped)" in run.stderr
    frames = decoded(out)
    assert len(frames) == 6 and frames[0].shape == (720, 720, 3)
    expected = cv2.resize(first, (1280, 720), interpolation=cv2.INTER_AREA)[:, 280:1000]
    assert np.abs(frames[0].astype(np.int16) - expected.astype(np.int16)).mean() < 4.0
    shifted = cv2.resize(first, (1280, 720), interpolation=cv2.INTER_AREA)[:, 240:960]
    assert np.abs(frames[0].astype(np.int16) - shifted.astype(np.int16)).mean() > 8.0   # a wrong crop shows


@pytest.mark.parametrize("size, expected", [((1920, 1080), (720, 1280)), ((640, 480), (480, 640)),
                                            ((1080, 1920), (720, 405))])
def test_max_size_caps_and_never_enlarges(size, expected, tmp_path: Path) -> None:
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), cv2.resize(cv2.imread(str(PARITY / "camera_512.png")), size))
    out = tmp_path / "out.png"
    run = portraitflow("render", str(photo), "--recipe", "poster", "-o", str(out), "--max-size", "1280x720")
    assert run.returncode == 0, run.stderr
    assert cv2.imread(str(out)).shape == (*expected, 3)
    assert f"{expected[1]}x{expected[0]}" in run.stdout


def test_size_on_a_recipe_render_gives_exactly_that_size(tmp_path: Path) -> None:
    out = tmp_path / "wide.png"
    run = portraitflow("render", str(PARITY / "astronaut_512.png"), "--recipe", "blur", "-o", str(out),
                       "--size", "1280x720")
    assert run.returncode == 0, run.stderr
    assert cv2.imread(str(out)).shape == (720, 1280, 3)
