"""Typed node options: a frozen dataclass per node, built and validated from plain data in one place.

Not for: reading the environment or the command line; options come only from graph and recipe files.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Literal, get_args, get_origin

from .errors import ConfigError


@dataclasses.dataclass(frozen=True)
class NoOptions:
    """For nodes that take no options."""


def _describe(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return " or ".join(repr(a) for a in get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in get_args(tp))
    if origin in (list, tuple):
        args = [a for a in get_args(tp) if a is not Ellipsis]
        inner = _describe(args[0]) if args else "any"
        return f"list of {inner}"
    if tp is type(None):
        return "none"
    return getattr(tp, "__name__", str(tp))


def _coerce(value: Any, tp: Any) -> Any:
    """Return value converted to tp, or raise TypeError with expected vs got."""
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin is Literal:
        if value in get_args(tp):
            return value
        raise TypeError(f"expected {_describe(tp)}, got {value!r}")
    if origin in (typing.Union, types.UnionType):
        for arg in get_args(tp):
            try:
                return _coerce(value, arg)
            except TypeError:
                continue
        raise TypeError(f"expected {_describe(tp)}, got {type(value).__name__} {value!r}")
    if tp is type(None):
        if value is None:
            return None
        raise TypeError(f"expected none, got {value!r}")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"expected {_describe(tp)}, got {type(value).__name__} {value!r}")
        args = [a for a in get_args(tp) if a is not Ellipsis]
        if origin is tuple and len(args) > 1 and Ellipsis not in get_args(tp):
            if len(value) != len(args):
                raise TypeError(f"expected {len(args)} items, got {len(value)}")
            return tuple(_coerce(v, a) for v, a in zip(value, args))
        items = [_coerce(v, args[0]) if args else v for v in value]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise TypeError(f"expected table, got {type(value).__name__} {value!r}")
        return dict(value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise TypeError(f"expected bool, got {type(value).__name__} {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise TypeError(f"expected float, got {type(value).__name__} {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise TypeError(f"expected int, got {type(value).__name__} {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise TypeError(f"expected str, got {type(value).__name__} {value!r}")
    if isinstance(tp, type) and isinstance(value, tp):
        return value
    raise TypeError(f"expected {_describe(tp)}, got {type(value).__name__} {value!r}")


def option_fields(options_cls: type) -> dict[str, tuple[Any, Any]]:
    """name -> (type, default or dataclasses.MISSING) for an Options dataclass."""
    hints = typing.get_type_hints(options_cls)
    out = {}
    for f in dataclasses.fields(options_cls):
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            default = f.default_factory()  # type: ignore[misc]
        else:
            default = dataclasses.MISSING
        out[f.name] = (hints[f.name], default)
    return out


def build_options(options_cls: type, raw: dict[str, Any] | None, *, file: str | None = None,
                  node: str | None = None) -> Any:
    """Build an Options instance from plain data; errors name file, node and field.

    A dataclass's __post_init__ may raise ValueError for range checks (``check_ranges``): the message
    is kept and prefixed with where it happened, and a ``field`` attribute on it names the field.
    """
    raw = dict(raw or {})
    fields = option_fields(options_cls)
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        known = ", ".join(sorted(fields)) or "none"
        raise ConfigError(f"unknown option {unknown[0]!r} (known options: {known})",
                          file=file, node=node, field=unknown[0])
    values = {}
    for name, (tp, default) in fields.items():
        if name in raw:
            try:
                values[name] = _coerce(raw[name], tp)
            except TypeError as exc:
                raise ConfigError(str(exc), file=file, node=node, field=name) from None
        elif default is dataclasses.MISSING:
            raise ConfigError(f"required option missing (expected {_describe(tp)})",
                              file=file, node=node, field=name)
    try:
        return options_cls(**values)
    except ConfigError:
        raise
    except (ValueError, TypeError) as exc:
        field = getattr(exc, "field", None)
        raise ConfigError(str(exc), file=file, node=node, field=field) from None


@dataclasses.dataclass(frozen=True)
class Above:
    """An exclusive lower bound for check_ranges: ``fps=(Above(0), 240)`` admits (0, 240]."""

    value: float


def check_ranges(options: Any, **ranges: tuple[float | Above, float]) -> None:
    """For an Options dataclass's __post_init__: raise ValueError naming the first option outside
    its inclusive [low, high] range (or (low, high] with ``Above(low)``); ``build_options`` turns it
    into a ConfigError naming the field.

        check_ranges(self, quality=(10, 100), max_width=(64, 7680), fps=(Above(0), 240))
    """
    for name, (low, high) in ranges.items():
        value = getattr(options, name)
        if isinstance(low, Above):
            ok, interval = low.value < value <= high, f"({low.value}, {high}]"
        else:
            ok, interval = low <= value <= high, f"[{low}, {high}]"
        if not ok:
            error = ValueError(f"{name} must be in {interval}, got {value}")
            error.field = name  # type: ignore[attr-defined]
            raise error


def describe_options(options_cls: type) -> list[tuple[str, str, Any]]:
    """(name, type description, default) rows, for `graph show` and docs."""
    return [(n, _describe(t), None if d is dataclasses.MISSING else d)
            for n, (t, d) in option_fields(options_cls).items()]
