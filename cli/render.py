"""`portraitflow render IMAGE --recipe NAME -o OUT.png [--set key=value ...]`: a recipe on a still.

Not for: live runs (`portraitflow run --recipe NAME`). The still goes through the same graph.
"""
from __future__ import annotations

import argparse

from ..graph.errors import ConfigError
from ..recipes.loader import DEFAULT_RECIPE, load_recipe
from ..recipes.still import render_still


def parse_sets(pairs: list[str] | None) -> dict[str, str]:
    """['title=NIGHT SHIFT', 'vignette=0.3'] -> {'title': 'NIGHT SHIFT', 'vignette': '0.3'}."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"expected key=value, got {pair!r}", field="--set")
        out[key.strip()] = value
    return out


def register(subparsers) -> None:
    p = subparsers.add_parser("render", help="render a recipe on a photo",
                              description="Render a recipe on a still image through the recipe's graph.")
    p.add_argument("image", help="input photo (any format OpenCV reads)")
    p.add_argument("--recipe", default=DEFAULT_RECIPE,
                   help=f"recipe name or .toml path (default {DEFAULT_RECIPE})")
    p.add_argument("-o", "--output", required=True, help="output .png")
    p.add_argument("--key-colour", metavar="green|blue|#RRGGBB",
                   help="flatten a transparent look (cutout, background=transparent) onto a key colour")
    p.add_argument("--set", dest="sets", action="append", metavar="KEY=VALUE",
                   help="override a recipe setting, e.g. --set title=\"NIGHT SHIFT\" (repeatable)")
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    recipe = load_recipe(args.recipe)
    path = render_still(recipe, args.image, args.output, parse_sets(args.sets), key_colour=args.key_colour)
    print(f"wrote {path} ({recipe.name})")
    return 0
