"""The looks by name, and their settings validated from plain data (recipe files, --set).

Not for: drawing (each look's own file) or graph wiring (recipes/loader.py).
"""
from __future__ import annotations

from typing import Any

from ...graph.options import build_options
from .background_replace import BackgroundReplace
from .cutout import Cutout
from .double_exposure import DoubleExposure
from .look import Look
from .portrait_blur import PortraitBlur
from .poster import Poster
from .stencil import Stencil

LOOKS: dict[str, type[Look]] = {cls.name: cls for cls in
                                (DoubleExposure, Stencil, Poster, PortraitBlur, BackgroundReplace, Cutout)}


def look_class(name: str, *, file: str | None = None, node: str | None = None) -> type[Look]:
    from ...graph.errors import ConfigError
    cls = LOOKS.get(name)
    if cls is None:
        raise ConfigError(f"unknown look {name!r} (expected one of {', '.join(LOOKS)})",
                          file=file, node=node, field="look")
    return cls


def build_settings(name: str, raw: dict[str, Any] | None, *, file: str | None = None,
                   node: str | None = "settings") -> Any:
    """The look's Settings from plain data; errors name file, node/table and the key."""
    return build_options(look_class(name, file=file).Settings, raw, file=file, node=node)


def make_look(name: str, raw: dict[str, Any] | None = None) -> Look:
    cls = look_class(name)
    return cls(build_settings(name, raw))
