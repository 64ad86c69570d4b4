"""Render a recipe on a still photo through the real graph (image_source -> chain -> png_sink), and
lay several renders out as a labelled contact sheet.

Not for: live runs (`portraitflow run --recipe`), which build the same graph with a camera source.
"""
from __future__ import annotations

import struct
import tempfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..graph.errors import ConfigError, DeviceError
from ..graph.runner import run_graph
from ..nodes.key_colour import add_key_colour
from ..nodes.looks.typesetting import TypeStyle, common_size, set_line, stamp_onto
from .loader import Recipe, check_key_colour, recipe_graph
from .overrides import apply_sets, split_sets

#: the bundled sample photo (devices/assets), used by the gallery
SAMPLE_PHOTO = Path(__file__).resolve().parent.parent / "devices" / "assets" / "astronaut_512.png"


def render_still(recipe: Recipe, image: str | Path, output: str | Path,
                 settings: dict[str, str] | None = None, *, resize: dict[str, Any] | None = None,
                 key_colour: str | None = None) -> Path:
    """Run the recipe's graph once on ``image`` and write ``output`` (.png), at the photo's own size
    unless ``resize`` (nodes/resize.py options) says otherwise. ``settings`` are `--set` overrides:
    look settings, and NODE.OPTION keys for the chain's nodes. ``key_colour`` ("green", "blue",
    "#RRGGBB") flattens a transparent look onto that colour. Returns the path."""
    image, output = Path(image), Path(output)
    if not image.is_file():
        raise DeviceError(f"image not found: {str(image)!r}")
    if output.suffix.lower() != ".png":
        raise ConfigError(f"output must be a .png file, got {str(output)!r}", field="-o")
    output.parent.mkdir(parents=True, exist_ok=True)
    look_sets, node_sets = split_sets(settings or {})
    if key_colour:
        check_key_colour(recipe, look_sets)
    spec = recipe_graph(recipe, source=("image_source", {"path": str(image), "frames": 1}),
                        sink=("png_sink", {"path": str(output)}), settings=look_sets, resize=resize)
    if key_colour:
        add_key_colour(spec, key_colour)
    run_graph(apply_sets(spec, node_sets))
    if not output.is_file():
        raise DeviceError(f"the graph ended without writing {str(output)!r}")
    return output


def png_size(path: str | Path) -> tuple[int, int]:
    """(width, height) from a PNG's header, without decoding the picture."""
    with open(path, "rb") as file:
        head = file.read(24)
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n":
        raise DeviceError(f"not a PNG file: {str(path)!r}")
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def _two_lines(text: str, size: float, max_width: float, style: TypeStyle) -> list[str]:
    """``text`` as one line if it fits ``max_width`` at ``size``, else split at the space nearest its middle."""
    stamp = set_line(text, size, style)
    words = text.split()
    if stamp.shape[1] <= max_width or len(words) < 2:
        return [text]
    middle = len(text) / 2
    best = min(range(1, len(words)), key=lambda i: abs(len(" ".join(words[:i])) - middle))
    return [" ".join(words[:best]), " ".join(words[best:])]


def over_checkerboard(bgra: np.ndarray, cell: int = 16) -> np.ndarray:
    """A BGRA image over a grey checkerboard (how editors show transparency), as BGR."""
    height, width = bgra.shape[:2]
    rows, cols = np.indices((height, width))
    board = np.where((rows // cell + cols // cell) % 2 == 0, 205, 150).astype(np.uint8)
    alpha = bgra[..., 3:4].astype(np.float32) / 255.0
    return (bgra[..., :3] * alpha + board[..., None] * (1.0 - alpha) + 0.5).astype(np.uint8)


def contact_sheet(tiles: list[tuple[str, str, np.ndarray]], *, columns: int = 3,
                  tile_height: int = 360) -> np.ndarray:
    """(name, description, image) tiles in a grid on a dark board, each with its name set under it."""
    gap, caption = 24, 86
    resized = []
    for name, description, image in tiles:
        image = over_checkerboard(image) if image.shape[2] == 4 else image
        width = round(image.shape[1] * tile_height / image.shape[0])
        image = cv2.resize(image, (width, tile_height), interpolation=cv2.INTER_AREA)
        resized.append((name, description, image))
    tile_width = max(t[2].shape[1] for t in resized)
    rows = (len(resized) + columns - 1) // columns
    sheet = np.full((gap + rows * (tile_height + caption + gap), gap + columns * (tile_width + gap), 3),
                    (24, 22, 20), np.uint8)
    # one size for every caption (the gallery's lines had as many sizes as lengths)
    name_style, line_style = TypeStyle(weight=700, tracking=0.12), TypeStyle(weight=400)
    names = [name.replace("_", " ").upper() for name, _, _ in resized]
    name_size = common_size(names, tile_width, 22, name_style)
    # descriptions wrap onto two lines rather than shrink (one long line set every caption tiny)
    wrapped = [_two_lines(d, 15, tile_width - 8, line_style) for _, d, _ in resized]
    line_size = common_size([line for lines in wrapped for line in lines], tile_width - 8, 15, line_style)
    for index, (name, description, image) in enumerate(resized):
        row, col = divmod(index, columns)
        x = gap + col * (tile_width + gap) + (tile_width - image.shape[1]) // 2
        y = gap + row * (tile_height + caption + gap)
        sheet[y:y + tile_height, x:x + image.shape[1]] = image
        centre = gap + col * (tile_width + gap) + tile_width // 2
        title = set_line(names[index], name_size, name_style)
        stamp_onto(sheet, title, (236, 236, 240), centre, y + tile_height + 12)
        for number, text in enumerate(wrapped[index]):
            line = set_line(text, line_size, line_style)
            stamp_onto(sheet, line, (170, 170, 176), centre, y + tile_height + 44 + number * round(line_size * 1.35))
    return sheet


def render_gallery(recipes: list[Recipe], output: str | Path, image: str | Path = SAMPLE_PHOTO) -> Path:
    """Every recipe rendered on ``image`` through the graph, in one labelled contact sheet."""
    output = Path(output)
    if output.suffix.lower() != ".png":
        raise ConfigError(f"output must be a .png file, got {str(output)!r}", field="-o")
    tiles = []
    with tempfile.TemporaryDirectory(prefix="portraitflow-gallery-") as tmp:
        for recipe in recipes:
            path = render_still(recipe, image, Path(tmp) / f"{recipe.name}.png")
            tiles.append((recipe.name, recipe.description, cv2.imread(str(path), cv2.IMREAD_UNCHANGED)))
    output.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(output), contact_sheet(tiles)):
        raise DeviceError(f"could not write {str(output)!r}")
    return output
