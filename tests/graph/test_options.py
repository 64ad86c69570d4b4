"""Typed options: ranges checked in one place, errors naming node and field with expected vs got."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from portraitflow.graph import ConfigError, build_options
from portraitflow.graph.options import check_ranges


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
