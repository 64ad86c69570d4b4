"""`portraitflow render IMAGE --recipe NAME -o OUT.png [--set key=value ...]`: a recipe on a still.

Not for: live runs (`portraitflow run --recipe NAME`). The still goes through the same graph.
"""
from __future__ import annotations

import argparse

from ..recipes.loader import DEFAULT_RECIPE, load_recipe
from ..recipes.overrides import parse_sets
from ..recipes.still import png_size, render_still
from .flags import add_size_flags, resize_options


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
                   help="override a look setting, e.g. --set title=\"NIGHT SHIFT\", or a node's option "
                        "(NODE.OPTION=VALUE, e.g. fringe.feather=2); repeatable")
    add_size_flags(p)
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    recipe = load_recipe(args.recipe)
    path = render_still(recipe, args.image, args.output, parse_sets(args.sets), resize=resize_options(args),
                        key_colour=args.key_colour)
    width, height = png_size(path)
    print(f"wrote {path} ({recipe.name}, {width}x{height})")
    return 0
