"""Typed options: ranges checked in one place, errors naming node and field with expected vs got."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pytest

from portraitflow.graph import ConfigError, build_options
from portraitflow.graph.options import Above, check_ranges, describe_options


@dataclass(frozen=True)
class Encoder:
    quality: int = 80
    gamma: float = 1.0

    def __post_init__(self):
        check_ranges(self, quality=(10, 100), gamma=(0.5, 3.0))


def test_values_inside_their_ranges_pass_including_the_bounds():
    assert build_options(Encoder, {"quality": 10, "gamma": 3.0}) == Encoder(10, 3.0)


@pytest.mark.parametrize("raw, field, words", [
    ({"quality": 9}, "quality", "quality must be in [10, 100], got 9"),
    ({"gamma": 3.5}, "gamma", "gamma must be in [0.5, 3.0], got 3.5"),
    ({"quality": 101, "gamma": 0.1}, "quality", "quality must be in [10, 100], got 101"),
])
def test_the_first_value_out_of_range_is_named(raw, field, words):
    with pytest.raises(ConfigError) as info:
        build_options(Encoder, raw, file="g.toml", node="encode")
    assert info.value.field == field and info.value.node == "encode"
    assert words in str(info.value) and str(info.value).startswith(f"g.toml:encode:{field}:")


@dataclass(frozen=True)
class Described:
    quality: int = 80         # JPEG quality
    fps: float = 30.0
    """frames a second; above 0."""
    style: Literal["soft", "glow"] = "soft"
    tint: str = "#ff8800"
    name: str | None = None

    def __post_init__(self):
        check_ranges(self, quality=(10, 100), fps=(Above(0), 240))


def test_describe_options_reads_types_ranges_choices_and_doc_lines_from_the_class():
    rows = {row.name: row for row in describe_options(Described)}
    assert list(rows) == ["quality", "fps", "style", "tint", "name"]
    assert (rows["quality"].kind, rows["quality"].low, rows["quality"].high) == ("int", 10, 100)
    assert rows["quality"].doc == "JPEG quality" and rows["quality"].default == 80
    assert rows["fps"].low == 0 and rows["fps"].low_exclusive and rows["fps"].high == 240
    assert rows["fps"].doc == "frames a second; above 0."
    assert rows["style"].kind == "choice" and rows["style"].choices == ("soft", "glow")
    assert rows["tint"].kind == "colour" and rows["tint"].low is None
    assert rows["name"].kind == "str" and rows["name"].optional and rows["name"].default is None
    assert rows["style"].as_dict()["choices"] == ["soft", "glow"]


def test_describe_options_of_the_standard_chain_knows_every_declared_range():
    from portraitflow.nodes.fringe import FringeOptions
    from portraitflow.nodes.smooth import SmoothOptions

    fringe = {row.name: row for row in describe_options(FringeOptions)}
    assert (fringe["feather"].low, fringe["feather"].high) == (0.0, 100.0)
    assert fringe["eps"].low_exclusive and fringe["style"].choices == ("soft", "glow", "spray", "halftone")
    smooth = {row.name: row for row in describe_options(SmoothOptions)}
    assert (smooth["combine_with_previous"].low, smooth["combine_with_previous"].high) == (0.0, 1.0)
    with pytest.raises(ConfigError, match=r"feather must be in \[0.0, 100.0\], got 101"):
        build_options(FringeOptions, {"feather": 101.0})


def test_a_bad_colour_names_the_file_node_and_field_like_any_bad_value(tmp_path):
    """A colour option (default '#rrggbb') is checked where every option is, so a recipe's bad colour
    says which file it is in (before, the look found it when drawing and the file name was lost)."""
    from portraitflow.recipes.loader import load_recipe

    recipe = tmp_path / "bad.toml"
    recipe.write_text('[recipe]\ndescription = "x"\nlook = "poster"\n[settings]\nshadow = "nocolour"\n')
    with pytest.raises(ConfigError) as info:
        load_recipe(recipe)
    assert str(info.value) == f"{recipe}:settings:shadow: expected a colour '#rrggbb', got 'nocolour'"
    load_recipe("poster")     # the bundled colours pass the same check
