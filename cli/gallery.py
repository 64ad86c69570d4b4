"""`portraitflow gallery -o gallery.png`: every recipe on the sample photo, one labelled contact sheet.

Not for: a single render (cli/render.py).
"""
from __future__ import annotations

import argparse

from ..recipes.loader import list_recipes, load_recipe
from ..recipes.still import SAMPLE_PHOTO, render_gallery


def register(subparsers) -> None:
    p = subparsers.add_parser("gallery", help="contact sheet of every recipe",
                              description="Render every recipe on a photo into one labelled contact sheet.")
    p.add_argument("-o", "--output", default="gallery.png", help="output .png (default gallery.png)")
    p.add_argument("--image", default=str(SAMPLE_PHOTO), help="photo to use (default: the bundled sample)")
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    recipes = [load_recipe(name) for name in list_recipes()]
    path = render_gallery(recipes, args.output, args.image)
    print(f"wrote {path} ({len(recipes)} recipes)")
    return 0
