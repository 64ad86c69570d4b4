"""What the web preview accepts from a browser or a script: the checks every request passes first.

Not for: serving (web_server.py) or what a valid change means (web_controls.py). The preview can show
the camera and change the look, so it trusts no page and no process:
- Host must name the address it listens on (a DNS-rebinding page sends its own name: refused);
- a request a browser marks cross-site (Sec-Fetch-Site) is refused, so no other page reads or embeds it;
- a control request (POST) needs the run's own Origin, a JSON content type and the per-run token
  (printed at start, as Jupyter does); beyond loopback every request needs the token;
- bodies are size-limited (413) and parsed as strict JSON (finite numbers, bounded depth), then checked
  against what the endpoint expects: a refusal is a status and a one-line reason, never a traceback.
"""
from __future__ import annotations

import hmac
import ipaddress
import json
import math
import secrets
import socket
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from ..graph.transport.addresses import is_loopback_host

#: a control request is a few settings; the biggest (a recipe's whole settings) is well under this
MAX_BODY_BYTES = 64 * 1024
#: nesting deeper than this is no setting of ours (and a deep one costs recursion)
MAX_JSON_DEPTH = 8
TOKEN_HEADER = "X-Portraitflow-Token"


class Refused(Exception):
    """A request the preview will not serve: an HTTP status and a one-line reason for the client."""

    def __init__(self, status: HTTPStatus, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = " ".join(reason.split())    # one line, whatever the cause said


def new_token() -> str:
    return secrets.token_urlsafe(18)


class RequestGuard:
    """The checks for one listening address (host and the port actually bound)."""

    def __init__(self, host: str, port: int, token: str, *, token_for_everything: bool | None = None):
        self.host, self.port, self.token = host, port, token
        self.loopback = is_loopback_host(host)
        self.token_for_everything = (not self.loopback if token_for_everything is None
                                     else token_for_everything)
        self.wildcard = host in ("0.0.0.0", "::", "")
        names = {host}
        if self.loopback:
            names |= {"127.0.0.1", "localhost", "[::1]"}
        elif self.wildcard:
            # any address of this machine: IP literals (rebinding needs a DNS name) and its own names
            names |= {socket.gethostname(), socket.getfqdn(), "localhost"}
        self.hosts = {_with_port(name, port) for name in names if name}
        self.origins = {f"http://{h}" for h in self.hosts}

    def check_host(self, headers: Mapping[str, str]) -> str:
        """The request's Host, if it names this server; else Refused (403)."""
        host = (headers.get("Host") or "").strip().lower()
        if host in self.hosts or (self.wildcard and _is_ip_literal_with_port(host, self.port)):
            return host
        raise Refused(HTTPStatus.FORBIDDEN, f"Host {host or '(none)'!r} is not this server "
                                            f"(expected {min(self.hosts)})")

    def check_site(self, headers: Mapping[str, str]) -> None:
        """Browsers say where a request comes from: another site may neither read nor embed us."""
        if (headers.get("Sec-Fetch-Site") or "").lower() == "cross-site":
            raise Refused(HTTPStatus.FORBIDDEN, "cross-site requests are refused")

    def check_token(self, headers: Mapping[str, str], query: Mapping[str, list[str]]) -> None:
        given = headers.get(TOKEN_HEADER) or (query.get("token") or [""])[0]
        if not given:
            raise Refused(HTTPStatus.UNAUTHORIZED, "this needs the token: open the URL printed at start "
                                                   "(…?token=...)")
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            raise Refused(HTTPStatus.FORBIDDEN, "wrong token")

    def check_control(self, headers: Mapping[str, str], query: Mapping[str, list[str]]) -> None:
        """A POST: the run's own Origin, a JSON body, the token."""
        origin = (headers.get("Origin") or "").strip().lower()
        if origin not in self.origins and not (self.wildcard and origin.startswith("http://")
                                               and _is_ip_literal_with_port(origin[7:], self.port)):
            raise Refused(HTTPStatus.FORBIDDEN, f"Origin {origin or '(none)'!r} is not this page "
                                                f"(control requests come from the preview page itself)")
        media_type = (headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        if media_type != "application/json":
            raise Refused(HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                          f"expected Content-Type application/json, got {media_type or '(none)'!r}")
        self.check_token(headers, query)

    @staticmethod
    def body_length(headers: Mapping[str, str]) -> int:
        """The declared body length, refused before a byte is read when it is missing or too big."""
        if headers.get("Transfer-Encoding"):
            raise Refused(HTTPStatus.LENGTH_REQUIRED, "chunked bodies are not accepted: send Content-Length")
        text = (headers.get("Content-Length") or "").strip()
        if not text.isdigit() or len(text) > 18:
            if text.isdigit():
                raise Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                              f"body too large (at most {MAX_BODY_BYTES} bytes)")
            raise Refused(HTTPStatus.LENGTH_REQUIRED, f"expected a Content-Length, got {text or '(none)'!r}")
        length = int(text)
        if length > MAX_BODY_BYTES:
            raise Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                          f"body too large: {length} bytes (at most {MAX_BODY_BYTES})")
        return length


def parse_json(body: bytes) -> Any:
    """Strict JSON: UTF-8, finite numbers only (no NaN, Infinity or 1e999), bounded nesting."""
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_refuse_constant, parse_float=_finite_float,
                          parse_int=_bounded_int)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Refused(HTTPStatus.BAD_REQUEST, f"body is not valid JSON: {str(exc)[:160]}") from None
    if _depth(data) > MAX_JSON_DEPTH:
        raise Refused(HTTPStatus.BAD_REQUEST, f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return data


def expect_object(data: Any, fields: Mapping[str, tuple[type, ...]], required: tuple[str, ...] = ()) -> dict:
    """``data`` as a JSON object with only ``fields`` (name -> accepted types) and every ``required``."""
    if not isinstance(data, dict):
        raise Refused(HTTPStatus.BAD_REQUEST, f"expected a JSON object, got {_json_type(data)}")
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise Refused(HTTPStatus.BAD_REQUEST,
                      f"unknown field {unknown[0]!r} (expected: {', '.join(fields) or 'none'})")
    for name in required:
        if name not in data:
            raise Refused(HTTPStatus.BAD_REQUEST, f"missing field {name!r}")
    for name, value in data.items():
        types = fields[name]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            expected = " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in types)
            raise Refused(HTTPStatus.BAD_REQUEST,
                          f"field {name!r}: expected {expected}, got {_json_type(value)}")
    return data


_TYPE_NAMES = {str: "a string", bool: "true or false", int: "a number", float: "a number",
               dict: "an object", list: "a list", type(None): "null"}


def _json_type(value: Any) -> str:
    for tp in (bool, dict, list, str, type(None)):
        if isinstance(value, tp):
            return _TYPE_NAMES[tp]
    return "a number" if isinstance(value, (int, float)) else type(value).__name__


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number here (numbers must be finite)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:20]} is out of range (numbers must be finite)")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > 15:
        raise ValueError(f"{text[:20]}... is out of range (integers of at most 15 digits)")
    return int(text)


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def _with_port(host: str, port: int) -> str:
    host = host.lower()
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"            # an IPv6 literal
    return f"{host}:{port}"


def _is_ip_literal_with_port(host_port: str, port: int) -> bool:
    host, sep, given_port = host_port.rpartition(":")
    if not sep or given_port != str(port):
        return False
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True
