"""Recipes end to end: every bundled recipe through the real graph (real segment model) on the
fixture photos, recipe-file errors, --set overrides, and the recipes/render/gallery commands."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from portraitflow.cli.main import main
from portraitflow.graph import ConfigError
from portraitflow.recipes.loader import list_recipes, load_recipe, recipe_graph
from portraitflow.recipes.still import render_still

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mediapipe_parity"
RECIPES = ["blur", "colour_pop", "cutout", "double_exposure", "poster", "replace", "stencil"]
#: recipes that draw a new picture over the whole frame (the cutout keeps the frame's colour under alpha 0:
#: tests/recipes/test_cutout.py checks it)
OPAQUE_RECIPES = [r for r in RECIPES if r != "cutout"]


def test_the_bundled_recipes_are_listed() -> None:
    assert list_recipes() == RECIPES
    for name in RECIPES:
        recipe = load_recipe(name)
        assert recipe.description and recipe.name == name


def test_recipe_graph_is_the_standard_chain() -> None:
    spec = recipe_graph(load_recipe("poster"), source=("image_source", {"path": "x.png"}),
                        sink=("png_sink", {"path": "out.png"}), settings={"title": "HELLO"})
    assert list(spec.nodes) == ["capture", "downscale", "segment", "smooth", "fringe", "composite", "output"]
    assert {e.name for e in spec.edges} == {
        "capture.frame->downscale.frame", "downscale.frame->segment.frame", "segment.mask->smooth.mask",
        "downscale.frame->smooth.frame", "smooth.mask->fringe.mask", "downscale.frame->fringe.frame",
        "fringe.mask->composite.mask", "capture.frame->composite.frame", "composite.frame->output.frame"}
    composite = spec.nodes["composite"].options
    assert composite["look"] == "poster" and composite["settings"]["title"] == "HELLO"


@pytest.mark.parametrize("name", ["astronaut_512", "astronaut_in_coffee_1280x720"])
@pytest.mark.parametrize("recipe", OPAQUE_RECIPES)
def test_every_recipe_renders_the_fixtures_through_the_graph(recipe: str, name: str, tmp_path: Path) -> None:
    source = FIXTURES / f"{name}.png"
    out = render_still(load_recipe(recipe), source, tmp_path / "out.png")
    frame = cv2.imread(str(source), cv2.IMREAD_COLOR)
    rendered = cv2.imread(str(out), cv2.IMREAD_COLOR)
    assert rendered.shape == frame.shape
    reference = np.load(FIXTURES / f"{name}.mediapipe_masks.npz")["selfie_segmentation__full"]
    diff = np.abs(rendered.astype(np.int16) - frame.astype(np.int16)).mean(axis=2)
    background, person = reference < 0.05, reference > 0.95
    assert diff[background].mean() > 8.0
    if recipe in ("blur", "replace", "colour_pop"):
        core = cv2.erode(person.astype(np.uint8), np.ones((25, 25), np.uint8)).astype(bool)
        assert diff[core].mean() < 6.0


def test_set_overrides_change_the_render(tmp_path: Path) -> None:
    source = FIXTURES / "astronaut_512.png"
    a = cv2.imread(str(render_still(load_recipe("poster"), source, tmp_path / "a.png")))
    b = cv2.imread(str(render_still(load_recipe("poster"), source, tmp_path / "b.png",
                                    {"title": "NIGHT SHIFT", "vignette": "0.1"})))
    assert np.abs(a.astype(np.int16) - b.astype(np.int16)).mean() > 2.0


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "look.toml"
    path.write_text(text)
    return path


GOOD_HEAD = '[recipe]\ndescription = "mine"\nlook = "blur"\n'


@pytest.mark.parametrize("text,expected", [
    ('[recipe]\nlook = "blur"\n', "recipe.description"),
    ('[recipe]\ndescription = "x"\nlook = "sepia"\n', "recipe.look: expected one of"),
    (GOOD_HEAD + "[settings]\nradius = \"big\"\n", "settings:radius: expected float"),
    (GOOD_HEAD + "[settings]\nblurriness = 1.0\n", "unknown option 'blurriness'"),
    (GOOD_HEAD + "[nodes.sharpen]\namount = 1\n", "nodes.sharpen: unknown node"),
    (GOOD_HEAD + "[nodes.composite]\nlook = \"poster\"\n", "nodes.composite.look"),
    (GOOD_HEAD + "[extras]\nx = 1\n", "unknown table 'extras'"),
    (GOOD_HEAD + "radius = \n", "not valid TOML"),
])
def test_recipe_errors_name_file_key_and_expectation(text: str, expected: str, tmp_path: Path) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_recipe(str(path))
    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_node_options_in_a_recipe_are_checked_with_the_file_name(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_HEAD + "[nodes.fringe]\nstyle = \"zigzag\"\n")
    with pytest.raises(ConfigError, match="nodes.fringe:style") as info:
        load_recipe(str(path))
    assert str(path) in str(info.value)


def test_unknown_recipe_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="stencil"):
        load_recipe("sepia")


def test_recipes_command_lists_one_line_each(capsys) -> None:
    assert main(["recipes"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines] == RECIPES


def test_render_command_writes_the_png_and_rejects_bad_sets(tmp_path: Path, capsys) -> None:
    out = tmp_path / "poster.png"
    argv = ["render", str(FIXTURES / "camera_512.png"), "--recipe", "poster", "-o", str(out),
            "--set", "title=HELLO WORLD"]
    assert main(argv) == 0 and cv2.imread(str(out)).shape == (512, 512, 3)
    assert main(argv[:-1] + ["colour=red"]) == 2
    assert "unknown setting 'colour'" in capsys.readouterr().err


def test_gallery_command_writes_a_contact_sheet(tmp_path: Path) -> None:
    out = tmp_path / "gallery.png"
    assert main(["gallery", "-o", str(out)]) == 0
    sheet = cv2.imread(str(out))
    assert sheet is not None and sheet.shape[0] > 2 * 360 and sheet.shape[1] > 3 * 360


def test_stencil_title_is_sprayed_under_the_portrait_and_absent_by_default(tmp_path: Path) -> None:
    source = FIXTURES / "astronaut_512.png"
    plain = cv2.imread(str(render_still(load_recipe("stencil"), source, tmp_path / "plain.png")))
    titled = cv2.imread(str(render_still(load_recipe("stencil"), source, tmp_path / "titled.png",
                                         {"title": "MY FILM"})))
    band = int(plain.shape[0] * 0.84)
    changed = np.abs(plain.astype(np.int16) - titled.astype(np.int16)).max(axis=2) > 0
    assert not changed[:band - 1].any()            # the portrait above the caption is untouched
    caption = titled[band + 2:]
    grey = cv2.cvtColor(caption, cv2.COLOR_BGR2GRAY)
    ink, letters = grey < 80, grey > 170            # an ink band with light letters on it
    assert ink.mean() > 0.6 and 0.05 < letters.mean() < 0.4
    columns = np.flatnonzero(letters.any(axis=0))
    assert abs((columns[0] + columns[-1]) / 2 - plain.shape[1] / 2) < plain.shape[1] * 0.05   # centred


def test_stencil_title_longer_than_a_caption_is_refused() -> None:
    with pytest.raises(ConfigError, match="title must be at most 40"):
        recipe_graph(load_recipe("stencil"), source=("image_source", {"path": "x.png"}),
                     sink=("png_sink", {"path": "out.png"}), settings={"title": "X" * 41})


def test_the_standard_chain_is_a_graph_file_every_recipe_includes() -> None:
    """Recipes are data: the chain is recipes/graphs/standard_chain.toml (graph check accepts it as it
    is), and a recipe's graph is that file with the run's source and sink and the recipe's options."""
    from portraitflow.graph.graph_file import load_graph_file
    from portraitflow.recipes.loader import CHAIN, STANDARD_CHAIN

    assert main(["graph", "check", str(STANDARD_CHAIN)]) == 0
    chain = load_graph_file(STANDARD_CHAIN)
    assert list(CHAIN) == [n for n in chain.nodes if n not in ("capture", "output")]
    recipe = load_recipe("stencil")
    spec = recipe_graph(recipe, source=("video_source", {"path": "in.mp4"}), sink=("png_sink", {"path": "o.png"}))
    assert [(e.source, e.source_port, e.target, e.target_port) for e in spec.edges] == \
        [(e.source, e.source_port, e.target, e.target_port) for e in chain.edges]
    assert spec.nodes["capture"].type == "video_source" and spec.nodes["output"].type == "png_sink"
    assert spec.nodes["composite"].options["look"] == "stencil"
    for node_id, options in recipe.node_options.items():    # the recipe's [nodes.ID] tables override
        assert options.items() <= spec.nodes[node_id].options.items()
    assert "standard_chain" not in list_recipes()
