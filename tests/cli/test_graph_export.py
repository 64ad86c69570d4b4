"""`portraitflow graph export`: every recipe's graph as a file that `graph check` accepts and `run --graph`
runs identically to `run --recipe` (pixel for pixel on a real video); `graph show|check RECIPE`."""
from __future__ import annotations

import tomllib
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from portraitflow.cli.main import main
from portraitflow.graph.graph_file import load_graph_file
from portraitflow.recipes.loader import list_recipes

from support.paths import PARITY

FRAMES = 5


@pytest.fixture(scope="module")
def person_video(tmp_path_factory) -> Path:
    """A real 640x360 25 fps H.264 clip of a person photo panning, made with PyAV."""
    photo = cv2.imread(str(PARITY / "astronaut_in_coffee_1280x720.png"), cv2.IMREAD_COLOR)
    path = tmp_path_factory.mktemp("video") / "person.mp4"
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 640, 360, "yuv420p"
        for i in range(FRAMES + 3):
            crop = np.ascontiguousarray(photo[100 + 4 * i:460 + 4 * i, 200 + 8 * i:840 + 8 * i])
            for packet in video.encode(av.VideoFrame.from_ndarray(crop, format="bgr24")):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
    return path


def _frames(folder: Path) -> list[np.ndarray]:
    files = sorted(folder.glob("*.png"))
    return [cv2.imread(str(f), cv2.IMREAD_UNCHANGED) for f in files]


@pytest.mark.slow
@pytest.mark.parametrize("recipe", list_recipes())
def test_export_then_run_graph_is_pixel_identical_to_run_recipe(recipe, person_video, tmp_path, model_cache,
                                                                 capsys):
    graph_file = tmp_path / f"{recipe}.toml"
    assert main(["graph", "export", "--recipe", recipe, "-o", str(graph_file)]) == 0
    assert main(["graph", "check", str(graph_file)]) == 0
    assert f"{graph_file}: ok (7 nodes, 9 edges" in capsys.readouterr().out
    by_recipe, by_graph = tmp_path / "recipe", tmp_path / "graph"
    by_recipe.mkdir()
    by_graph.mkdir()
    common = ["--input", str(person_video), "--max-frames", str(FRAMES), "--quiet"]
    assert main(["run", "--recipe", recipe, *common, "--output", str(by_recipe / "{seq:05d}.png")]) == 0
    assert main(["run", "--graph", str(graph_file), *common,
                 "--output", str(by_graph / "{seq:05d}.png")]) == 0
    expected, got = _frames(by_recipe), _frames(by_graph)
    assert len(expected) == FRAMES and len(got) == FRAMES
    for index, (a, b) in enumerate(zip(expected, got)):
        assert a.shape == b.shape and a.shape[:2] == (360, 640), index
        assert np.array_equal(a, b), f"{recipe}: frame {index} differs"
    # and the recipe really did something: the output is not the input frame
    with av.open(str(person_video)) as container:
        first = next(container.decode(video=0)).to_ndarray(format="bgr24")
    assert np.abs(expected[0][..., :3].astype(np.int16) - first).mean() > 1.0


@pytest.mark.slow
def test_run_flags_given_to_export_are_in_the_file(person_video, tmp_path, model_cache):
    """--set NODE.OPTION and --max-size shape the graph: exported once, the file runs as `run` with them."""
    graph_file = tmp_path / "g.toml"
    shape = ["--set", "fringe.feather=3", "--set", "title=X", "--max-size", "320x180"]
    assert main(["graph", "export", "--recipe", "poster", "-o", str(graph_file), *shape]) == 0
    data = tomllib.loads(graph_file.read_text())
    assert list(data["nodes"])[:2] == ["capture", "size"]          # written in the order frames flow
    assert data["nodes"]["fringe"]["options"]["feather"] == 3
    by_recipe, by_graph = tmp_path / "recipe", tmp_path / "graph"
    by_recipe.mkdir()
    by_graph.mkdir()
    common = ["--input", str(person_video), "--max-frames", "3", "--quiet"]
    assert main(["run", "--recipe", "poster", *shape, *common,
                 "--output", str(by_recipe / "{seq:05d}.png")]) == 0
    assert main(["run", "--graph", str(graph_file), *common,
                 "--output", str(by_graph / "{seq:05d}.png")]) == 0
    expected, got = _frames(by_recipe), _frames(by_graph)
    assert len(expected) == 3 and expected[0].shape[:2] == (180, 320)
    assert all(np.array_equal(a, b) for a, b in zip(expected, got, strict=True))


def test_exported_file_is_the_recipes_graph_with_its_settings(tmp_path):
    path = tmp_path / "poster.toml"
    assert main(["graph", "export", "--recipe", "poster", "-o", str(path), "--set", 'title=A "QUOTED" TITLE',
                 "--output", "null"]) == 0
    data = tomllib.loads(path.read_text())
    assert data["nodes"]["composite"]["options"]["look"] == "poster"
    assert data["nodes"]["composite"]["options"]["settings"]["title"] == 'A "QUOTED" TITLE'
    assert data["nodes"]["fringe"]["options"] == {"style": "soft", "feather": 1.0}
    assert data["nodes"]["output"]["type"] == "null_sink"
    spec = load_graph_file(path)
    assert list(spec.nodes) == ["capture", "downscale", "segment", "smooth", "fringe", "composite", "output"]


def test_export_without_a_file_prints_it_and_a_bad_setting_fails_naming_it(capsys):
    assert main(["graph", "export", "--recipe", "blur"]) == 0
    out = capsys.readouterr().out
    assert tomllib.loads(out)["graph"]["name"] == "recipe:blur"
    assert main(["graph", "export", "--recipe", "blur", "--set", "nope=1"]) == 2
    assert "unknown setting 'nope'" in capsys.readouterr().err


def test_show_and_check_take_a_recipe_name(capsys):
    assert main(["graph", "show", "blur"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("flowchart LR") and "segment --> " not in out and 'segment -->|"mask→mask' in out
    assert main(["graph", "check", "stencil"]) == 0
    assert "stencil: ok (7 nodes, 9 edges" in capsys.readouterr().out
    assert main(["graph", "check", "no_such_recipe"]) == 2
    assert "no_such_recipe: graph file not found" in capsys.readouterr().err
