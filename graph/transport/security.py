"""Who may talk on a link: CurveZMQ keys and allow-lists, and when plain text is acceptable.

Not for: key generation UI (cli/keys.py). The binding end is the CURVE server and checks client
public keys against an allow-list directory; the connecting end is the client and must know the
server's public key. Plain text is allowed on ipc://, inproc:// and loopback tcp, or when asked for.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

from ..errors import ConfigError
from .addresses import is_local


@dataclass(frozen=True)
class Security:
    """Key material of one link end (paths as written by `portraitflow keys generate`)."""

    secret_key: str = ""      # own certificate with its secret key (NAME.key_secret)
    server_key: str = ""      # connecting end: the server's public certificate (NAME.key)
    allow_keys: str = ""      # binding end: directory of client public certificates that may connect
    insecure: bool = False    # allow plain text on a non-loopback address


_lock = threading.Lock()
_authenticators: dict[int, tuple[ThreadAuthenticator, set[str]]] = {}


def secure(socket: zmq.Socket, address: str, bind: bool, security: Security, node: str) -> str:
    """Configure CURVE on ``socket`` (before bind/connect) when required or asked for.
    Returns "curve" or "plain"; raises ConfigError naming the node and the missing key."""
    wants_curve = bool(security.secret_key or security.server_key or security.allow_keys)
    if not wants_curve:
        if is_local(address) or security.insecure:
            return "plain"
        raise ConfigError(f"{address} is not a loopback or ipc address, so the link is encrypted with "
                          f"CurveZMQ and needs keys (create them with `portraitflow keys generate DIR NAME`); "
                          f"pass --insecure to send plain text anyway", node=node, field="secret_key")
    if not security.secret_key:
        raise ConfigError("CurveZMQ needs this end's certificate with its secret key (NAME.key_secret)",
                          node=node, field="secret_key")
    public, secret = _load(security.secret_key, node, "secret_key")
    if secret is None:
        raise ConfigError(f"{security.secret_key} holds no secret key (expected NAME.key_secret)",
                          node=node, field="secret_key")
    socket.curve_secretkey = secret
    socket.curve_publickey = public
    if bind:
        if not security.allow_keys or not Path(security.allow_keys).is_dir():
            raise ConfigError(f"the binding end needs an allow-list directory of client public keys, "
                              f"got {security.allow_keys!r}", node=node, field="allow_keys")
        _start_authenticator(socket.context, security.allow_keys)
        socket.curve_server = True
    else:
        if not security.server_key:
            raise ConfigError("the connecting end needs the server's public key (NAME.key)",
                              node=node, field="server_key")
        socket.curve_serverkey = _load(security.server_key, node, "server_key")[0]
    return "curve"


def _load(path: str, node: str, field: str) -> tuple[bytes, bytes | None]:
    try:
        return zmq.auth.load_certificate(path)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read key file {path}: {exc}", node=node, field=field) from None


def _start_authenticator(context: zmq.Context, allow_dir: str) -> None:
    """One ZAP authenticator per context; every allow-list directory given is honoured."""
    with _lock:
        entry = _authenticators.get(id(context))
        if entry is None:
            auth = ThreadAuthenticator(context)
            auth.start()
            entry = (auth, set())
            _authenticators[id(context)] = entry
        auth, dirs = entry
        if allow_dir not in dirs:
            dirs.add(allow_dir)
            allowed: dict[bytes, bool] = {}
            for directory in dirs:
                allowed.update(zmq.auth.load_certificates(directory))
            auth.configure_curve_callback("*", _AllowList(allowed))


class _AllowList:
    """ZAP credentials provider: a client may connect when its public key is listed."""

    def __init__(self, allowed: dict[bytes, bool]):
        self.allowed = allowed

    def callback(self, domain: str, key: bytes) -> bool:
        return key in self.allowed
