"""Saving a running graph's settings as a recipe: the file loads back as the same design."""
from __future__ import annotations

import pytest

from portraitflow.graph import ConfigError
from portraitflow.recipes.loader import load_recipe
from portraitflow.recipes.writer import recipe_toml, save_running_recipe


def running_nodes(**settings):
    return {"downscale": ("downscale", {"max_width": 1280, "max_height": 720}),
            "fringe": ("fringe", {"feather": 3.0, "style": "glow"}),
            "composite": ("composite", {"look": "poster", "mask_max_age_ms": 250.0, "mask_wait_ms": 100.0,
                                        "settings": {"title": 'Say "hi"\\ to\tall', "vignette": 0.25, **settings}})}


def test_a_saved_recipe_loads_back_with_its_look_settings_and_changed_node_options(tmp_path):
    path = save_running_recipe(tmp_path / "recipes", "night-poster", running_nodes())
    assert path == tmp_path / "recipes" / "night-poster.toml"
    recipe = load_recipe(path)
    assert recipe.name == "night-poster" and recipe.look == "poster"
    assert recipe.settings == {"title": 'Say "hi"\\ to\tall', "vignette": 0.25}
    assert recipe.node_options == {"fringe": {"feather": 3.0, "style": "glow"}}   # defaults are not written
    assert not list((tmp_path / "recipes").glob("*.partial"))


@pytest.mark.parametrize("name", ["", "../x", "a/b", "x" * 41, "-lead", "sp ace", "über"])
def test_names_that_are_not_plain_file_names_are_refused(tmp_path, name):
    with pytest.raises(ConfigError, match="recipe name must be"):
        save_running_recipe(tmp_path, name, running_nodes())


def test_an_existing_file_is_never_overwritten_and_a_bad_design_is_not_kept(tmp_path):
    save_running_recipe(tmp_path, "mine", running_nodes())
    with pytest.raises(ConfigError, match="exists already"):
        save_running_recipe(tmp_path, "mine", running_nodes())
    with pytest.raises(ConfigError, match="vignette"):
        save_running_recipe(tmp_path, "bad", running_nodes(vignette=7.0))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.toml"]
    with pytest.raises(ConfigError, match="standard chain's composite"):
        save_running_recipe(tmp_path, "nochain", {"tint": ("t_tint", {})})


def test_toml_values_round_trip():
    import tomllib
    text = recipe_toml("x", "d", "blur", {"a": "line\nbreak \u0001", "b": [1, 2.5, True], "c": False}, {})
    assert tomllib.loads(text)["settings"] == {"a": "line\nbreak \u0001", "b": [1, 2.5, True], "c": False}
