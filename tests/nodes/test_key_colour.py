"""The key colour: the cut-out flattened onto a flat green/blue/#RRGGBB, through the real chain (sample
clip, real model): exactly the key where the chain's mask is 0, the person's colour where it is 1; and
--key-colour on the command line, for an output that cannot carry alpha."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from portraitflow.graph import ConfigError
from portraitflow.graph.runner import run_graph
from portraitflow.nodes.key_colour import add_key_colour, parse_key_colour
from portraitflow.nodes.looks.blend import mask_to_alpha
from portraitflow.recipes.loader import load_recipe, recipe_graph

from support import graph_nodes  # noqa: F401  (registers t_collect)
from support.alpha_video import decode_bgra, read_png_sequence


@pytest.mark.parametrize("colour, bgr", [("green", (0, 255, 0)), ("blue", (255, 0, 0)),
                                         ("#FF00aa", (170, 0, 255))])
def test_key_colours_by_name_and_hex(colour: str, bgr: tuple[int, int, int]) -> None:
    assert parse_key_colour(colour) == bgr


@pytest.mark.parametrize("bad", ["grene", "#12345", "#gg0000", ""])
def test_a_bad_key_colour_is_named(bad: str) -> None:
    with pytest.raises(ConfigError, match="key colour"):
        parse_key_colour(bad)


@pytest.mark.parametrize("colour", ["green", "#3050ff"])
def test_the_key_colour_is_exactly_where_the_mask_is_zero(colour: str, tmp_path: Path, model_cache) -> None:
    from support.graph_nodes import Collect
    spec = recipe_graph(load_recipe("cutout"), source=("sample_source", {"frames": 6}),
                        sink=("png_sink", {"path": str(tmp_path / "%03d.png")}))
    add_key_colour(spec, colour)
    spec.add("collect", "t_collect", key=f"key-{colour}")
    spec.connect("composite.frame", "collect.frame")
    spec.connect("fringe.mask", "collect.mask")
    run_graph(spec)
    keyed = read_png_sequence(tmp_path)
    collected = Collect.received[f"key-{colour}"]
    assert len(keyed) == len(collected) == 6
    key = np.array(parse_key_colour(colour), np.uint8)
    for out, (cut, mask) in zip(keyed, collected):
        assert out.shape == (720, 1280, 3)
        alpha = mask_to_alpha(mask.payload)
        is_key = np.all(out == key, axis=2)
        assert is_key[alpha == 0].all()
        assert 0.2 < (alpha == 0).mean() < 0.95
        solid = alpha == 255
        assert np.array_equal(out[solid], cut.payload[..., :3][solid])
        assert not is_key[solid].any()


def test_key_colour_on_the_command_line_for_an_mp4(tmp_path: Path, model_cache) -> None:
    done = subprocess.run([sys.executable, "-m", "portraitflow", "run", "--recipe", "cutout", "--output",
                           "keyed.mp4", "--key-colour", "green", "--max-frames", "5", "--quiet"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "cannot carry alpha" not in done.stderr   # the key node already flattened it
    frame = decode_bgra(tmp_path / "keyed.mp4")[0][..., :3].astype(np.int16)
    green = (frame[..., 1] > 200) & (frame[..., 0] < 60) & (frame[..., 2] < 60)
    assert 0.2 < green.mean() < 0.95
    refused = subprocess.run([sys.executable, "-m", "portraitflow", "run", "--recipe", "blur", "--output",
                              "x.mp4", "--key-colour", "green", "--max-frames", "2"], cwd=tmp_path,
                             capture_output=True, text=True, timeout=300)
    assert refused.returncode != 0 and "transparency" in refused.stderr
    assert "Traceback" not in refused.stderr and not (tmp_path / "x.mp4").exists()


def test_render_with_a_key_colour_writes_an_opaque_still(tmp_path: Path, model_cache) -> None:
    from portraitflow.cli.main import main

    from support.paths import PARITY
    out = tmp_path / "keyed.png"
    assert main(["render", str(PARITY / "astronaut_512.png"), "--recipe", "cutout", "-o", str(out),
                 "--key-colour", "#0000ff"]) == 0
    import cv2
    image = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert image.shape == (512, 512, 3)
    blue = np.all(image == (255, 0, 0), axis=2)
    assert 0.05 < blue.mean() < 0.9
