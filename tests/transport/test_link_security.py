"""CurveZMQ on links: keys from `portraitflow keys generate`, an allow-list, and a stranger who gets nothing.

Not for: plain-text links (the other transport tests).
"""
from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest

from portraitflow.graph.errors import ConfigError, DeviceError
from portraitflow.graph.packet import Packet
from portraitflow.graph.transport.addresses import is_local
from portraitflow.graph.transport.codecs import RawEncoder
from portraitflow.graph.transport.link import LinkReceiver, LinkSender, LinkSettings
from portraitflow.graph.transport.security import Security

from support.split import free_tcp_port


def generate(directory, name):
    result = subprocess.run([sys.executable, "-m", "portraitflow.cli.main", "keys", "generate",
                             str(directory), name], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return directory / f"{name}.key", directory / f"{name}.key_secret"


def receive_some(receiver: LinkReceiver, seconds: float) -> list:
    got, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        item = receiver.take(0.05)
        if item is not None:
            got.append(item)
            receiver.done()
    return got


def test_only_an_allowed_key_receives_frames(tmp_path):
    allowed_dir, other_dir = tmp_path / "allowed", tmp_path / "other"
    server_public, server_secret = generate(tmp_path / "server", "phone")
    _companion_public, companion_secret = generate(allowed_dir, "companion")
    _, stranger_secret = generate(other_dir, "stranger")
    address = f"tcp://127.0.0.1:{free_tcp_port()}"
    stream = "capture.frame>companion"
    sender = LinkSender(LinkSettings(address, bind=True, stream=stream, node="out",
                                     security=Security(secret_key=str(server_secret),
                                                       allow_keys=str(allowed_dir))),
                        RawEncoder(), block=False).start()
    assert sender.security_mode == "curve"

    def client(secret):
        return LinkReceiver(LinkSettings(address, bind=False, stream=stream, node="in",
                                         security=Security(secret_key=str(secret),
                                                           server_key=str(server_public))), window=2).start()

    stranger = client(stranger_secret)
    try:
        frame = np.full((36, 64, 3), 7, np.uint8)
        # the stranger's handshake is refused: an error naming the reason, within 2 s, not a silent run
        started = time.monotonic()
        refused = None
        while refused is None and time.monotonic() - started < 10:
            sender.offer(Packet(frame, time.monotonic_ns(), 0))
            try:
                assert stranger.take(0.05) is None              # never a frame
            except DeviceError as exc:
                refused = exc
        assert refused is not None, "the refused handshake went unreported"
        assert "authentication refused" in str(refused) and "HANDSHAKE_FAILED_AUTH" in str(refused)
        assert time.monotonic() - started < 2.0 + 1.0          # 2 s, with room for a loaded machine
        assert sender.counters["link_handshake_failed"] >= 1   # the server counts the refusal
        companion = client(companion_secret)
        try:
            got = []
            for i in range(40, 100):
                sender.offer(Packet(frame, time.monotonic_ns(), i))
                got += receive_some(companion, 0.02)
            got += receive_some(companion, 0.3)
            assert len(got) >= 10
            assert all(h["seq"] >= 40 for _, h, _, _ in got)
        finally:
            companion.close()
    finally:
        stranger.close()
        sender.close()


def test_remote_addresses_need_keys_or_an_explicit_insecure_flag(tmp_path):
    assert is_local("ipc:///tmp/x") and is_local("tcp://127.0.0.1:5") and is_local("tcp://localhost:5")
    assert not is_local("tcp://192.168.1.20:5555") and not is_local("tcp://*:5555")
    assert is_local("tcp://127.8.9.10:5") and is_local("tcp://[::1]:5")
    # parsed strictly: ZeroMQ's source;destination form, a name that starts like a loopback address,
    # no port, an IPv4-mapped form, decimal and short forms
    for address in ("tcp://127.0.0.1:1;192.0.2.1:5555", "tcp://127.evil.example:5555", "tcp://127.0.0.1",
                    "tcp://[::ffff:192.0.2.1]:5", "tcp://2130706433:5", "tcp://127.1:5", "tcp://lo:5",
                    "tcp://localhost.evil.example:5", "pgm://127.0.0.1:5", "ipc://"):
        assert not is_local(address), address
    with pytest.raises(ConfigError, match="CurveZMQ"):
        LinkReceiver(LinkSettings("tcp://192.0.2.1:5999", bind=False, stream="s", node="in"), 1).start()
    with pytest.raises(ConfigError, match="allow-list"):
        _, secret = generate(tmp_path, "x")
        LinkReceiver(LinkSettings("tcp://127.0.0.1:5999", bind=True, stream="s", node="in",
                                  security=Security(secret_key=str(secret))), 1).start()
    insecure = LinkReceiver(LinkSettings("tcp://192.0.2.1:5999", bind=False, stream="s", node="in",
                                         security=Security(insecure=True)), 1).start()
    assert insecure.security_mode == "plain"
    insecure.close()


def test_keys_generate_refuses_to_overwrite(tmp_path):
    generate(tmp_path, "phone")
    result = subprocess.run([sys.executable, "-m", "portraitflow.cli.main", "keys", "generate",
                             str(tmp_path), "phone"], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "already exists" in result.stderr
