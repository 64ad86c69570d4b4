"""Video backgrounds: a real clip (encoded here with PyAV, its frame index written into its pixels) decoded by
the background_video node in a real graph: it advances at its own frame rate under another camera rate
(frame index checked against media time), loops, covers a frame of another aspect ratio (centre crop), and
a recipe setting `background = "clip.mp4"` puts it behind the person (real model) with no code."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from portraitflow.graph import ConfigError
from portraitflow.graph.errors import NodeError
from portraitflow.graph.runner import run_graph
from portraitflow.graph.spec import GraphSpec
from portraitflow.graph.testing import make_node
from portraitflow.nodes.background_video import BackgroundVideo
from portraitflow.nodes.looks.assets import cover
from portraitflow.recipes.loader import load_recipe, recipe_graph

from support import graph_nodes  # noqa: F401  (registers t_collect)

BAR = 16   # px of colour bar at each side of the clip (left red, right blue): they show what was cropped


def make_clip(path: Path, *, fps: int, frames: int, width: int, height: int) -> Path:
    """An H.264 clip whose frame i is grey level 10 * (i % 25) + 5, with a red bar on the left edge, a blue
    bar on the right, a green bar along the top and a magenta one along the bottom."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps, options={"crf": "10"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            image = np.full((height, width, 3), 10 * (i % 25) + 5, np.uint8)
            image[:, :BAR], image[:, -BAR:] = (0, 0, 255), (255, 0, 0)
            image[:BAR, BAR:-BAR], image[-BAR:, BAR:-BAR] = (0, 255, 0), (255, 0, 255)
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def clip_index(image: np.ndarray) -> int:
    """The clip frame shown, read from the grey level at the centre."""
    height, width = image.shape[:2]
    return round((float(image[height // 2 - 4:height // 2 + 4, width // 2 - 4:width // 2 + 4].mean()) - 5) / 10)


def run_background(clip: Path, *, camera_fps: float, frames: int, width: int = 320, height: int = 180,
                   key: str = "bg") -> tuple[list, dict]:
    """A real graph: the sample source at ``camera_fps`` (its media time i / fps) -> background_video ->
    a collecting sink. Returns the background packets and the node's counters."""
    from support.graph_nodes import Collect
    spec = GraphSpec(name="background")
    spec.add("capture", "sample_source", frames=frames, fps=camera_fps)
    spec.add("size", "resize", width=width, height=height, fit="cover")
    spec.add("background", "background_video", path=str(clip))
    spec.add("collect", "t_collect", key=key)
    spec.connect("capture.frame", "size.frame")
    spec.connect("size.frame", "background.frame")
    spec.connect("background.frame", "collect.frame")
    stats = run_graph(spec)
    return [frame for frame, _ in Collect.received[key]], stats.nodes["background"].counters


@pytest.mark.parametrize("clip_fps, camera_fps", [(24, 30), (60, 25), (10, 30)])
def test_the_clip_plays_at_its_own_rate_and_loops(tmp_path: Path, clip_fps: int, camera_fps: float) -> None:
    clip_frames = 25 if clip_fps != 10 else 12
    clip = make_clip(tmp_path / "clip.mp4", fps=clip_fps, frames=clip_frames, width=320, height=240)
    frames = int(camera_fps * 2.6 * clip_frames / clip_fps)    # the clip loops twice and a half
    shown, counters = run_background(clip, camera_fps=camera_fps, frames=frames)
    assert len(shown) == frames
    for i, packet in enumerate(shown):
        media_s = Fraction(i) / Fraction(camera_fps)
        expected = int(media_s * clip_fps + Fraction(1, 10**6)) % clip_frames
        assert clip_index(packet.payload) == expected, (i, float(media_s))
        assert packet.payload.shape == (180, 320, 3)
    assert counters["background_loops"] == 2


@pytest.mark.parametrize("clip_size, crops", [((320, 240), "top_bottom"), ((180, 320), "top_bottom"),
                                              ((640, 160), "sides")])
def test_a_clip_of_another_aspect_covers_the_frame(tmp_path: Path, clip_size: tuple[int, int], crops: str) -> None:
    clip = make_clip(tmp_path / "clip.mp4", fps=25, frames=3, width=clip_size[0], height=clip_size[1])
    shown, _ = run_background(clip, camera_fps=25, frames=3, width=320, height=180)
    image = shown[0].payload.astype(np.int16)
    red, blue = np.array([0, 0, 255]), np.array([255, 0, 0])
    green, magenta = np.array([0, 255, 0]), np.array([255, 0, 255])

    def near(pixel, colour):
        return np.abs(pixel - colour).max() < 40

    # the frame is covered edge to edge: no letterbox bands, and the centre is the clip's grey
    assert clip_index(image.astype(np.uint8)) == 0
    assert image.min() > 0 or near(image[0, 0], red) or near(image[0, 0], green)
    if crops == "top_bottom":   # the sides are kept (bars visible), the top and bottom cut (no green/magenta)
        assert near(image[90, 2], red) and near(image[90, 317], blue)
        assert not near(image[2, 160], green) and not near(image[177, 160], magenta)
        # aspect kept: the bar is as thick, relative to the width, as in the clip
        bar_px = int((np.abs(image[90, :40] - red).max(axis=1) < 40).sum())
        assert abs(bar_px - BAR * 320 / clip_size[0]) <= 2
    else:                       # the top and bottom are kept, the sides cut
        assert near(image[2, 160], green) and near(image[177, 160], magenta)
        assert not near(image[90, 2], red) and not near(image[90, 317], blue)


def test_cover_keeps_the_aspect_and_the_centre() -> None:
    image = np.zeros((100, 400, 3), np.uint8)
    image[:, 150:250] = 255                       # a centred white square, 100x100
    out = cover(image, 90, 160)
    assert out.shape == (90, 160, 3)
    white = out[45] > 127
    assert abs(int(white[:, 0].sum()) - 90) <= 2  # still square: 90 px wide at 90 px high


def test_a_missing_or_broken_clip_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="video file"):
        make_node(BackgroundVideo, {"path": str(tmp_path / "clip.png")}, "background")
    spec = GraphSpec(name="x")
    spec.add("capture", "sample_source", frames=2)
    spec.add("background", "background_video", path=str(tmp_path / "nope.mp4"))
    spec.add("collect", "t_collect", key="broken")
    spec.connect("capture.frame", "background.frame")
    spec.connect("background.frame", "collect.frame")
    with pytest.raises(NodeError, match="background video not found.*nope.mp4"):
        run_graph(spec)
    (tmp_path / "junk.mp4").write_bytes(b"not a video at all" * 100)
    spec.nodes["background"].options["path"] = str(tmp_path / "junk.mp4")
    with pytest.raises(NodeError, match="background video.*junk.mp4.*cannot open"):
        run_graph(spec)


def test_a_recipe_setting_names_a_video_and_it_plays_behind_the_person(tmp_path: Path, model_cache) -> None:
    from support.graph_nodes import Collect
    clip = make_clip(tmp_path / "beach.mp4", fps=24, frames=25, width=640, height=480)
    recipe = load_recipe("replace")
    spec = recipe_graph(recipe, source=("sample_source", {"frames": 40}),
                        sink=("null_sink", {}), settings={"background": str(clip)})
    assert spec.nodes["background"].type == "background_video"
    spec.add("collect", "t_collect", key="replace-video")
    spec.connect("composite.frame", "collect.frame")
    spec.connect("fringe.mask", "collect.mask")
    run_graph(spec)
    collected = Collect.received["replace-video"]
    assert len(collected) == 40
    import cv2
    for i, (frame, mask) in enumerate(collected):
        full = cv2.resize(mask.payload, (1280, 720))
        clear = cv2.erode((full < 0.01).astype(np.uint8), np.ones((61, 61), np.uint8)).astype(bool)
        clear[:, :40] = clear[:, -40:] = False            # the clip's side bars
        assert clear.sum() > 20_000
        grey = frame.payload[clear].astype(np.float32).mean()
        expected = 10 * (int(Fraction(i, 30) * 24 + Fraction(1, 10**6)) % 25) + 5
        assert abs(grey - expected) < 4, (i, grey, expected)


def test_an_image_background_adds_no_video_node() -> None:
    spec = recipe_graph(load_recipe("replace"), source=("sample_source", {}), sink=("null_sink", {}),
                        settings={"background": "#204060"})
    assert "background" not in spec.nodes
    with pytest.raises(ConfigError):
        recipe_graph(load_recipe("replace"), source=("sample_source", {}), sink=("null_sink", {}),
                     settings={"bogus": "x.mp4"})


def test_the_double_exposure_fill_plays_a_video_inside_the_silhouette(tmp_path: Path, model_cache) -> None:
    from support.graph_nodes import Collect
    clip = make_clip(tmp_path / "city.mp4", fps=24, frames=25, width=640, height=360)
    spec = recipe_graph(load_recipe("double_exposure"), source=("sample_source", {"frames": 12}),
                        sink=("null_sink", {}), settings={"fill": str(clip), "blend": "lighten", "face_clear": 0.0})
    assert spec.nodes["background"].options["path"] == str(clip)
    spec.add("collect", "t_collect", key="double-video")
    spec.connect("composite.frame", "collect.frame")
    spec.connect("fringe.mask", "collect.mask")
    run_graph(spec)
    collected = Collect.received["double-video"]
    assert len(collected) == 12
    import cv2
    levels = []
    for frame, mask in collected:
        full = cv2.resize(mask.payload, (1280, 720))
        inside = cv2.erode((full > 0.99).astype(np.uint8), np.ones((31, 31), np.uint8)).astype(bool)
        inside[360:] = False                       # above the fade at the bottom
        assert inside.sum() > 5_000
        levels.append(float(np.percentile(frame.payload[inside].min(axis=1), 10)))
    # "lighten" keeps the brighter of portrait and fill: the darkest parts of the person show the clip's
    # grey, which rises 10 levels per clip frame (24 fps under 30)
    assert levels[-1] - levels[0] > 40
