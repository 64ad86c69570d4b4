"""Typed node options: a frozen dataclass per node, built and validated from plain data in one place.

Not for: reading the environment or the command line; options come only from graph and recipe files.
"""
from __future__ import annotations

import ast
import contextvars
import dataclasses
import functools
import inspect
import io
import math
import textwrap
import tokenize
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
            # a colour option (its default is '#rrggbb': describe_options calls it "colour") is
            # checked here, so the error names the file like every other bad value
            if isinstance(default, str) and _is_hex_colour(default) and not (
                    isinstance(values[name], str) and _is_hex_colour(values[name])):
                raise ConfigError(f"expected a colour '#rrggbb', got {values[name]!r}",
                                  file=file, node=node, field=name)
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
    into a ConfigError naming the field. The ranges declared here are also what ``describe_options``
    reports (for the web page's sliders, `portraitflow nodes`), so they are written once.

        check_ranges(self, quality=(10, 100), max_width=(64, 7680), fps=(Above(0), 240))
    """
    recording = _recorded_ranges.get()
    if recording is not None:
        recording.update(ranges)
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


#: while describe_options builds a default instance, check_ranges also writes its ranges here
_recorded_ranges: contextvars.ContextVar[dict | None] = contextvars.ContextVar("_recorded_ranges", default=None)

#: how a control surface (or a listing) should offer an option
OptionKind = Literal["bool", "int", "float", "str", "colour", "choice", "list", "table", "any"]


@dataclasses.dataclass(frozen=True)
class OptionInfo:
    """One option of an Options dataclass, as data: what `portraitflow nodes` lists and the web page
    draws a control for. ``low``/``high`` come from the class's ``check_ranges`` call (None when it
    declares none); ``low_exclusive`` for ``Above(low)``; ``doc`` is the field's comment or docstring."""

    name: str
    type: str                      # as error messages say it: "float", "'soft' or 'glow'", "str or none"
    kind: OptionKind
    default: Any                   # None when required (see ``required``)
    required: bool = False
    low: float | None = None
    high: float | None = None
    low_exclusive: bool = False
    choices: tuple = ()
    optional: bool = False         # the type admits None
    doc: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (choices as a list; a default that is not plain data as its repr)."""
        out = dataclasses.asdict(self)
        out["choices"] = list(self.choices)
        if not _plain(self.default):
            out["default"] = repr(self.default)
        return out


def describe_options(options_cls: type) -> list[OptionInfo]:
    """Every field of an Options (or look Settings) dataclass with its type, default, range, choices
    and doc line, read from the class itself: the fields and their annotations, the ranges its
    ``__post_init__`` passes to ``check_ranges`` (a default instance is built to see them), the
    comment after a field or the string on the line below it."""
    fields = option_fields(options_cls)
    ranges = _declared_ranges(options_cls)
    docs = _field_docs(options_cls)
    rows = []
    for name, (tp, default) in fields.items():
        kind, choices, optional = _kind(tp, default)
        low, high = ranges.get(name, (None, None))
        exclusive = isinstance(low, Above)
        rows.append(OptionInfo(
            name=name, type=_describe(tp), kind=kind,
            default=None if default is dataclasses.MISSING else default,
            required=default is dataclasses.MISSING,
            low=_number(low.value if exclusive else low), high=_number(high), low_exclusive=exclusive,
            choices=choices, optional=optional, doc=docs.get(name, "")))
    return rows


@functools.lru_cache(maxsize=512)     # read only; a class's ranges and docs do not change while it runs
def _declared_ranges(options_cls: type) -> dict[str, tuple]:
    if any(default is dataclasses.MISSING for _, default in option_fields(options_cls).values()):
        return {}                          # no default instance to build: ranges unknown
    recording: dict = {}
    token = _recorded_ranges.set(recording)
    try:
        options_cls()
    except Exception:   # noqa: BLE001 - defaults that do not validate: describe without ranges
        return {}
    finally:
        _recorded_ranges.reset(token)
    return recording


def _kind(tp: Any, default: Any) -> tuple[OptionKind, tuple, bool]:
    """(kind, choices, admits None) of an annotation."""
    optional = False
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        optional = len(args) < len(get_args(tp))
        tp = args[0] if len(args) == 1 else Any
        origin = get_origin(tp)
    if origin is Literal:
        return "choice", tuple(get_args(tp)), optional
    if origin in (list, tuple):
        return "list", (), optional
    if origin is dict or tp is dict:
        return "table", (), optional
    if tp is str and isinstance(default, str) and _is_hex_colour(default):
        return "colour", (), optional
    for kind, python_type in (("bool", bool), ("int", int), ("float", float), ("str", str)):
        if tp is python_type:
            return kind, (), optional   # type: ignore[return-value]
    return "any", (), optional


def _is_hex_colour(text: str) -> bool:
    return len(text) == 7 and text[0] == "#" and all(c in "0123456789abcdefABCDEF" for c in text[1:])


def _number(value: Any) -> float | None:
    return None if value is None or not math.isfinite(value) else value


def _plain(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, float, str)):
        return not isinstance(value, float) or math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


@functools.lru_cache(maxsize=512)
def _field_docs(options_cls: type) -> dict[str, str]:
    """name -> the comment on a field's line (``x: float = 1.0  # why``) or the string literal on
    the line after it (an attribute docstring); {} when the source is not available."""
    try:
        source = textwrap.dedent(inspect.getsource(options_cls))
    except (OSError, TypeError):
        return {}
    try:
        body = ast.parse(source).body[0].body     # type: ignore[attr-defined]
        comments = {tok.start[0]: tok.string.lstrip("#").strip()
                    for tok in tokenize.generate_tokens(io.StringIO(source).readline)
                    if tok.type == tokenize.COMMENT}
    except (SyntaxError, tokenize.TokenError, IndexError, AttributeError):
        return {}
    docs: dict[str, str] = {}
    for statement, following in zip(body, [*body[1:], None]):
        if not (isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)):
            continue
        text = comments.get(statement.lineno, "")
        if (not text and isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)):
            text = " ".join(following.value.value.split())
        if text:
            docs[statement.target.id] = text
    return docs
