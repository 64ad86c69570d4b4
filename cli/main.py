"""Entry point of the `portraitflow` command: builds the parser from the cli/ modules and runs one.

Not for: subcommand logic. Each cli/<name>.py exposes ``register(subparsers)``, which adds its parser
and sets ``func(args) -> int``; this file finds them, so adding a subcommand edits nothing here.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import traceback

from .. import __version__
from ..graph.errors import PortraitflowError

#: the order subcommands are listed in --help; modules not named here follow alphabetically
ORDER = ["run", "render", "recipes", "gallery", "mask", "eval", "models", "graph", "keys"]


class _OneLineErrors(argparse.ArgumentParser):
    """Usage mistakes (a bad flag value, a missing argument) end like every other error: one line
    naming the flag, exit code 2; `--help` has the usage."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineErrors(
        prog="portraitflow",
        description="Turn a live selfie into a designed portrait, in real time.")
    parser.add_argument("--version", action="version", version=f"portraitflow {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    names = [m.name for m in pkgutil.iter_modules(_cli_path())
             if m.name not in ("main", "__init__") and not m.name.startswith("_")]
    names.sort(key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))
    for name in names:
        module = importlib.import_module(f"{__package__}.{name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(subparsers)
    return parser


def _cli_path() -> list[str]:
    import os
    return [os.path.dirname(__file__)]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except PortraitflowError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"portraitflow {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"portraitflow {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`portraitflow nodes | head`): no traceback, and none at exit either
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
