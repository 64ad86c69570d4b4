"""Load recipe files (recipes/*.toml) and turn one into a graph: the standard chain, a graph file
(recipes/graphs/standard_chain.toml: capture -> downscale -> segment -> smooth -> fringe -> composite ->
output), with the recipe's settings on its nodes.

Not for: pixels (nodes/looks/) or running graphs (graph/runner.py). Errors name the recipe file, the
key and what was expected. A recipe file has three tables:
    [recipe]    description = "...", look = "blur" | "replace" | "poster" | "double_exposure" | "stencil"
    [settings]  the look's settings (see nodes/looks/<look>.py); `--set key=value` overrides them
    [nodes.ID]  options for the chain's nodes: downscale, segment, smooth, fringe, composite
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..graph.errors import ConfigError
from ..graph.graph_file import load_graph_file
from ..graph.options import build_options, option_fields
from ..graph.spec import GraphSpec, NodeSpec
from ..nodes.looks.catalogue import LOOKS, build_settings

RECIPES_DIR = Path(__file__).parent
DEFAULT_RECIPE = "blur"
#: the standard chain every recipe includes, as a graph file (its capture and output are placeholders)
STANDARD_CHAIN = RECIPES_DIR / "graphs" / "standard_chain.toml"
#: the placeholders the run's source and sink replace
SOURCE_ID, SINK_ID = "capture", "output"


def _standard_chain() -> GraphSpec:
    return load_graph_file(STANDARD_CHAIN)


#: the standard chain's processing nodes, in flow order, with their node types (what a recipe's
#: [nodes.ID] tables may set)
CHAIN = {node.id: node.type for node in _standard_chain().nodes.values() if node.id not in (SOURCE_ID, SINK_ID)}
#: composite options the recipe sets itself (from [recipe] and [settings])
_OWN_COMPOSITE_OPTIONS = ("look", "settings")


@dataclass(frozen=True)
class Recipe:
    name: str
    file: str
    description: str
    look: str
    settings: dict[str, Any] = field(default_factory=dict)
    node_options: dict[str, dict[str, Any]] = field(default_factory=dict)


def list_recipes() -> list[str]:
    """Names of the bundled recipes, sorted."""
    return sorted(p.stem for p in RECIPES_DIR.glob("*.toml"))


def recipe_path(name_or_path: str | Path) -> Path:
    text = str(name_or_path)
    if text.endswith(".toml") or "/" in text or "\\" in text:
        path = Path(text).expanduser()
        if not path.is_file():
            raise ConfigError(f"recipe file not found (expected a .toml file or one of: "
                              f"{', '.join(list_recipes())})", file=text)
        return path
    path = RECIPES_DIR / f"{text}.toml"
    if not path.is_file():
        raise ConfigError(f"unknown recipe {text!r} (expected one of: {', '.join(list_recipes())}, "
                          f"or a path to a .toml file)")
    return path


def _table(data: dict, key: str, file: str) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"expected a table [{key}], got {type(value).__name__}", file=file, field=key)
    return value


def load_recipe(name_or_path: str | Path) -> Recipe:
    """Read and validate a recipe by bundled name ("poster") or path ("my/look.toml")."""
    path = recipe_path(name_or_path)
    file = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=file) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc}", file=file) from None
    unknown = sorted(set(data) - {"recipe", "settings", "nodes"})
    if unknown:
        raise ConfigError(f"unknown table {unknown[0]!r} (expected recipe, settings, nodes)",
                          file=file, field=unknown[0])
    head = _table(data, "recipe", file)
    extra = sorted(set(head) - {"description", "look"})
    if extra:
        raise ConfigError("unknown key (expected description, look)", file=file, field=f"recipe.{extra[0]}")
    description = head.get("description")
    if not isinstance(description, str) or not description.strip():
        raise ConfigError(f"expected a one-line description string, got {description!r}",
                          file=file, field="recipe.description")
    look = head.get("look")
    if look not in LOOKS:
        raise ConfigError(f"expected one of {', '.join(repr(n) for n in LOOKS)}, got {look!r}",
                          file=file, field="recipe.look")
    settings = dict(_table(data, "settings", file))
    build_settings(look, settings, file=file, node="settings")
    nodes = _table(data, "nodes", file)
    node_options: dict[str, dict[str, Any]] = {}
    for node_id, options in nodes.items():
        if node_id not in CHAIN:
            raise ConfigError(f"unknown node (expected one of {', '.join(CHAIN)})", file=file,
                              field=f"nodes.{node_id}")
        if not isinstance(options, dict):
            raise ConfigError(f"expected a table of options, got {type(options).__name__}",
                              file=file, field=f"nodes.{node_id}")
        if node_id == "composite":
            own = [k for k in options if k in _OWN_COMPOSITE_OPTIONS]
            if own:
                raise ConfigError("set the look in [recipe] and its settings in [settings], not here",
                                  file=file, field=f"nodes.composite.{own[0]}")
        _check_node_options(CHAIN[node_id], options, file=file, node=f"nodes.{node_id}")
        node_options[node_id] = dict(options)
    return Recipe(name=path.stem, file=file, description=description.strip(), look=look,
                  settings=settings, node_options=node_options)


def _check_node_options(node_type: str, options: dict, *, file: str, node: str) -> None:
    """Validate against the node's Options when the node type is installed (it is checked again
    when the graph is built, but then without the recipe's file name)."""
    from ..graph import registry
    try:
        cls = registry.node_class(node_type)
    except ConfigError:
        return
    if node_type == "composite":
        options = {**options, "look": "blur"}   # any look: only the node's own fields are checked here
    build_options(cls.Options, options, file=file, node=node)


def parse_setting_value(recipe: Recipe, key: str, text: str) -> Any:
    """A `--set key=value` string as the type the look's setting expects (str stays as typed;
    numbers and booleans are read as TOML)."""
    fields = option_fields(LOOKS[recipe.look].Settings)
    if key not in fields:
        raise ConfigError(f"unknown setting {key!r} for look {recipe.look!r} (known: {', '.join(fields)})",
                          file=recipe.file, field=f"--set {key}")
    from .overrides import value_as
    return value_as(fields[key][0], text)


def apply_settings(recipe: Recipe, overrides: dict[str, str] | None) -> dict[str, Any]:
    """The recipe's settings with `--set` overrides applied and validated."""
    settings = dict(recipe.settings)
    for key, text in (overrides or {}).items():
        settings[key] = parse_setting_value(recipe, key, text) if isinstance(text, str) else text
    build_settings(recipe.look, settings, file=recipe.file, node="--set" if overrides else "settings")
    return settings


def makes_alpha(recipe: Recipe, settings: dict[str, str] | None = None) -> bool:
    """Whether the recipe's look (with these --set overrides) draws BGRA frames (cutout, transparent)."""
    from ..nodes.looks.catalogue import make_look
    return make_look(recipe.look, apply_settings(recipe, settings)).channels == 4


def check_key_colour(recipe: Recipe, settings: dict[str, str] | None = None) -> None:
    """--key-colour draws behind the look's transparency: refuse it for a look that has none."""
    if not makes_alpha(recipe, settings):
        raise ConfigError(f"--key-colour needs a look with transparency, but recipe {recipe.name!r} draws an "
                          f"opaque frame (use --recipe cutout, or --set background=transparent with replace)",
                          file=recipe.file, field="--key-colour")


def recipe_graph(recipe: Recipe, *, source: tuple[str, dict], sink: tuple[str, dict],
                 settings: dict[str, str] | None = None, resize: dict[str, Any] | None = None) -> GraphSpec:
    """The standard chain (recipes/graphs/standard_chain.toml) for ``recipe`` between ``source`` and
    ``sink`` ((node type, options) each): capture -> downscale -> segment -> smooth -> fringe ->
    composite -> output, the recipe's node options and look set on its nodes.

    The mask stages work at the downscale node's working size; the composite draws on the capture's
    own full frame (its mask is brought up to it), so the output keeps the input's resolution.
    ``resize`` (options of nodes/resize.py) puts a node 'size' right after the capture to choose
    another output size (`--size`, `--max-size`)."""
    look_settings = apply_settings(recipe, settings)
    spec = _standard_chain()
    spec.name = f"recipe:{recipe.name}"
    for node_id, (node_type, options) in ((SOURCE_ID, source), (SINK_ID, sink)):
        spec.nodes[node_id] = NodeSpec(node_id, node_type, dict(options), spec.nodes[node_id].part)
    for node_id, options in recipe.node_options.items():
        spec.nodes[node_id].options.update(options)
    spec.nodes["composite"].options.update(look=recipe.look, settings=look_settings)
    video = video_setting(recipe.look, look_settings)
    if video is not None:   # a look setting names a video file: decode it beside the chain, on its own thread
        spec.add("background", "background_video", path=video)
        spec.connect("capture.frame", "background.frame")
        spec.connect("background.frame", "composite.background")
    if resize is not None:
        spec.insert_after("capture.frame", "size", "resize", **resize)
    spec.file = recipe.file
    return spec


def video_setting(look: str, settings: dict[str, Any]) -> str | None:
    """The video file a look's settings name (replace's background, the double exposure's fill), if any."""
    from ..nodes.background_video import is_video_background
    for key in LOOKS[look].video_settings:
        if is_video_background(settings.get(key)):
            return settings[key]
    return None
