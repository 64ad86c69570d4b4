"""`portraitflow keys generate DIR NAME`: a CurveZMQ key pair for one end of a split graph.

Not for: using keys (graph/transport/security.py). Writes DIR/NAME.key (public: give it to the other
end, or put it in the server's allow-list directory) and DIR/NAME.key_secret (keep it private).
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..graph.errors import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("keys", help="CurveZMQ keys for split graphs",
                              description="Create CurveZMQ certificates for links between parts "
                                          "(see docs/protocol.md, Security).")
    sub = p.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    gen = sub.add_parser("generate", help="write NAME.key (public) and NAME.key_secret (private) into DIR")
    gen.add_argument("directory", help="where to write the two files (created if missing)")
    gen.add_argument("name", help="a name for this end, e.g. phone or companion")
    gen.add_argument("--force", action="store_true", help="overwrite existing files")
    gen.set_defaults(func=_generate)


def generate(directory: str | Path, name: str, *, force: bool = False) -> tuple[Path, Path]:
    """Create the key pair; returns (public file, secret file)."""
    import zmq.auth

    directory = Path(directory)
    if not name or "/" in name or name.startswith("."):
        raise ConfigError(f"key name must be a plain file name, got {name!r}")
    public, secret = directory / f"{name}.key", directory / f"{name}.key_secret"
    if not force and (public.exists() or secret.exists()):
        raise ConfigError(f"{public} or {secret} already exists (use --force to replace them)")
    directory.mkdir(parents=True, exist_ok=True)
    public_file, secret_file = zmq.auth.create_certificates(directory, name)
    os.chmod(secret_file, 0o600)
    return Path(public_file), Path(secret_file)


def _generate(args: argparse.Namespace) -> int:
    public, secret = generate(args.directory, args.name, force=args.force)
    print(f"wrote {public} (public: copy it to the other end / its allow-list directory)")
    print(f"wrote {secret} (secret: keep it on this machine)")
    return 0
