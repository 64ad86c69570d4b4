"""`portraitflow recipes`: list the bundled recipes, one line each (name, look, description).

Not for: rendering (cli/render.py, cli/gallery.py).
"""
from __future__ import annotations

import argparse

from ..recipes.loader import DEFAULT_RECIPE, list_recipes, load_recipe


def register(subparsers) -> None:
    p = subparsers.add_parser("recipes", help="list the designed looks",
                              description="List the bundled recipes (recipes/*.toml).")
    p.add_argument("--settings", metavar="NAME", help="also list one recipe's settings (for --set)")
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    names = list_recipes()
    width = max(len(n) for n in names)
    for name in names:
        recipe = load_recipe(name)
        default = "  (default)" if name == DEFAULT_RECIPE else ""
        print(f"{name:<{width}}  {recipe.description}{default}")
    if args.settings:
        recipe = load_recipe(args.settings)
        print(f"\nsettings of {recipe.name} (look {recipe.look!r}); override with --set key=value:")
        for key, value in recipe.settings.items():
            print(f"  {key} = {value!r}")
    return 0
