"""Which addresses never leave this machine: the rule behind "plain text only on loopback", shared by
the links (a ZeroMQ address) and the web preview (an HTTP Host).

Not for: keys and allow-lists (security.py). Parsed strictly, with no name resolution: a DNS answer can
change, so only the name ``localhost`` and loopback IP literals count.
"""
from __future__ import annotations

import ipaddress
import re


def is_local(address: str) -> bool:
    """True for addresses that never leave this machine: ipc://, inproc://, and tcp:// to exactly
    one loopback host (an IPv4 address in 127.0.0.0/8, ::1 or the name ``localhost``) with a port
    or ``*``. Parsed strictly: ``tcp://127.0.0.1:1;192.0.2.1:5555`` (ZeroMQ's source;destination
    form) or ``tcp://127.evil.example:5555`` (a name) are not local."""
    if address.startswith(("ipc://", "inproc://")):
        return len(address) > len("ipc://")
    if not address.startswith("tcp://"):
        return False
    rest = address[len("tcp://"):]
    match = re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[^\[\]:;/@]+):(\d{1,5}|\*)", rest)
    if match is None:
        return False
    host = match.group(1)
    return is_loopback_host(host[1:-1] if host.startswith("[") else host)


def is_loopback_host(host: str) -> bool:
    """True for a host that is this machine's loopback: the name ``localhost`` or a loopback IP literal
    (127.0.0.0/8, ::1). Any other name is not, whatever it resolves to (a DNS answer can change)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
