"""Each attack of issue 12 against a real companion process, by a real attacker process (attacker.py:
pyzmq and msgpack only, no portraitflow): the receiver survives, legit frames arrive, counters show it.

Not for: the happy path (test_split_run.py) or one message at a time (test_wire.py). Waits are bounded
with generous timeouts; the asserts are about counts, exit codes and which frames arrived.
"""
from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support.split import PORTRAITFLOW, counter, free_tcp_port, wait_until

ATTACKER = Path(__file__).with_name("attacker.py")
STREAM = "frames"

COMPANION = """
[graph]
name = "companion"
policy = "block"
[nodes.receive]
type = "link_in"
options = {{ address = "{address}", mode = "{mode}", stream = "frames", kind = "frame" }}
[nodes.output]
type = "png_sink"
inputs = {{ frame = "receive.packet" }}
options = {{ path = "{out}/f_{{seq:05d}}.png" }}
"""

PHONE = """
[graph]
name = "phone"
policy = "{policy}"
[nodes.capture]
type = "sample_source"
options = {{ frames = {frames}, fps = 30, realtime = {realtime} }}
[nodes.shrink]
type = "downscale"
inputs = {{ frame = "capture.frame" }}
options = {{ max_width = 160, max_height = 90 }}
[nodes.send]
type = "link_out"
inputs = {{ packet = "shrink.frame" }}
options = {{ address = "{address}", mode = "{mode}", stream = "frames", codec = "raw", policy = "{policy}" }}
"""


def run_cli(path: Path, text: str) -> subprocess.Popen:
    path.write_text(text, encoding="utf-8")
    return subprocess.Popen([*PORTRAITFLOW, "run", "--graph", str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def companion(tmp_path: Path, address: str, mode: str = "bind", name: str = "companion") -> subprocess.Popen:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    return run_cli(tmp_path / f"{name}.toml", COMPANION.format(address=address, mode=mode, out=out))


def phone(tmp_path: Path, address: str, *, frames: int, policy: str = "latest", realtime: bool = True,
          mode: str = "connect") -> subprocess.Popen:
    return run_cli(tmp_path / "phone.toml", PHONE.format(address=address, mode=mode, frames=frames, policy=policy,
                                                          realtime=str(realtime).lower()))


def attack(mode: str, address: str, timeout: float = 60, **options) -> dict:
    done = subprocess.run([sys.executable, str(ATTACKER), mode, address, STREAM, json.dumps(options)],
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def start_attack(mode: str, address: str, **options) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ATTACKER), mode, address, STREAM, json.dumps(options)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def result_of(process: subprocess.Popen, timeout: float = 60) -> dict:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def finish(process: subprocess.Popen, timeout: float = 90) -> str:
    """Wait for a portraitflow process; its stderr. It must exit 0 (a signal gives a negative code)."""
    try:
        _, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
        raise AssertionError(f"did not finish in {timeout} s:\n{err}")
    assert process.returncode == 0, f"exit code {process.returncode}:\n{err}"
    return err


def seqs(tmp_path: Path) -> list[int]:
    return sorted(int(p.stem[2:]) for p in (tmp_path / "out").glob("f_*.png"))


def cleanup(*processes: subprocess.Popen) -> None:
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.communicate()


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        return int(re.search(r"VmRSS:\s+(\d+)", status.read()).group(1))


def test_a_peer_that_truncates_its_shm_segment_cannot_kill_the_receiver(tmp_path):
    address = f"tcp://127.0.0.1:{free_tcp_port()}"
    receiver = companion(tmp_path, address)
    sender = None
    try:
        seen = attack("truncate", address)
        assert seen["shm_accepted"] is True                  # the receiver did open the segment
        assert receiver.poll() is None, "the companion died (SIGBUS is exit code -7)"
        sender = phone(tmp_path, address, frames=20, policy="block", realtime=False)
        finish(sender)
        summary = finish(receiver)
    finally:
        cleanup(*(p for p in (sender, receiver) if p is not None))
    assert counter(summary, "link_undecodable") >= 4, summary    # the truncated reads, counted
    assert [s for s in seqs(tmp_path) if s < 20] == list(range(20)), summary   # then a legit stream


def test_200_connections_flooding_then_disconnecting_leave_the_companion_serving(tmp_path):
    # ZeroMQ heartbeats with a receive high-water mark abort libzmq here (!_io_error): they are off
    address = f"tcp://127.0.0.1:{free_tcp_port()}"
    receiver = companion(tmp_path, address)
    sender = phone(tmp_path, address, frames=420)
    try:
        wait_until(lambda: len(seqs(tmp_path)) >= 5, what="first frames")
        flood = attack("flood", address, connections=200, seconds=5)
        assert flood["sent"] > 1000
        after = seqs(tmp_path)[-1]
        wait_until(lambda: len([s for s in seqs(tmp_path) if s > after]) >= 30, what="frames after the flood")
        assert receiver.poll() is None
        finish(sender)
        summary = finish(receiver)
    finally:
        cleanup(sender, receiver)
    assert counter(summary, "link_malformed") + counter(summary, "link_unsynced") > 100, summary


def test_strangers_and_a_second_sender_neither_starve_nor_block_a_synced_sender(tmp_path):
    # 40 identities answer pings (they would be admitted if nobody else were), lie about their
    # clocks, and each sends a frame 30 times a second (1,200 messages/s, 52 MB/s, with INT64_MAX
    # timestamps once credited); the synced phone keeps >= 90% of its frames
    address = f"tcp://127.0.0.1:{free_tcp_port()}"
    frames = 240
    receiver = companion(tmp_path, address)
    sender = phone(tmp_path, address, frames=frames)
    try:
        wait_until(lambda: len(seqs(tmp_path)) >= 3, what="first frames")
        strangers = attack("strangers", address, identities=40, seconds=5, rate=30)
        assert strangers["sent"] > 100
        phone_summary = finish(sender)
        summary = finish(receiver)
    finally:
        cleanup(sender, receiver)
    legit = [s for s in seqs(tmp_path) if s < frames]
    assert len(legit) >= 0.9 * frames, (len(legit), summary, phone_summary)
    assert all(s < frames for s in seqs(tmp_path)), "a stranger's frame got through"
    assert counter(summary, "link_second_sender") > 100, summary
    assert counter(summary, "link_unsynced") > 100, summary
    assert counter(summary, "link_sessions") == 1, summary     # never replaced while it heartbeat
    print(f"legit share under 40 flooding strangers: {len(legit)}/{frames} = {len(legit) / frames:.1%} "
          f"(phone link_sent={counter(phone_summary, 'link_sent')})")


def test_a_rebooted_phone_with_its_clock_an_hour_behind_gets_its_frames_through(tmp_path):
    address = f"tcp://127.0.0.1:{free_tcp_port()}"
    receiver = companion(tmp_path, address)
    try:
        first = attack("send", address, frames=30, first_seq=0, end=False)
        second = attack("send", address, frames=30, first_seq=1000, clock_shift_ns=-3600 * 10**9)
        summary = finish(receiver)
    finally:
        cleanup(receiver)
    assert first["sent"] == second["sent"] == 30
    assert seqs(tmp_path) == list(range(30)) + list(range(1000, 1030)), summary
    assert counter(summary, "link_sessions") == 2 and counter(summary, "link_ts_shifted_sessions") == 1, summary
    assert "link_out_of_order" not in summary and "link_future_timestamp" not in summary, summary


def test_a_local_process_cannot_take_a_binding_phones_stream(tmp_path):
    address = f"tcp://127.0.0.1:{free_tcp_port()}"
    frames = 150
    sender = phone(tmp_path, address, frames=frames, mode="bind")
    receiver = companion(tmp_path, address, mode="connect")
    try:
        wait_until(lambda: len(seqs(tmp_path)) >= 3, what="first frames")
        thief = attack("steal", address, seconds=3)
        phone_summary = finish(sender)
        summary = finish(receiver)
    finally:
        cleanup(sender, receiver)
    assert thief == {"data": 0, "messages_from_sender": 0}     # it learned nothing, not even the session
    assert counter(phone_summary, "link_second_receiver") > 10, phone_summary
    # frames before the companion connected went nowhere (latest); of the rest, >= 90% arrive
    got = seqs(tmp_path)
    assert len(got) >= 0.9 * (frames - got[0]), (phone_summary, summary)


def test_block_across_a_companion_killed_and_restarted_delivers_every_frame(tmp_path):
    address = f"tcp://127.0.0.1:{free_tcp_port()}"
    frames = 150
    receiver = companion(tmp_path, address)
    sender = phone(tmp_path, address, frames=frames, policy="block")
    restarted = None
    try:
        wait_until(lambda: len(seqs(tmp_path)) >= 20, what="frames before the kill")
        receiver.send_signal(signal.SIGKILL)
        receiver.communicate(timeout=10)
        before = set(seqs(tmp_path))
        killed_at = time.monotonic()
        restarted = companion(tmp_path, address, name="restarted")
        wait_until(lambda: set(seqs(tmp_path)) - before, what="frames after the restart")
        recovery_s = time.monotonic() - killed_at
        phone_summary = finish(sender)
        summary = finish(restarted)
    finally:
        cleanup(*(p for p in (sender, receiver, restarted) if p is not None))
    assert seqs(tmp_path) == list(range(frames)), (phone_summary, summary)   # nothing lost
    written = counter(summary, "frames_written")
    again = written - (frames - len(before))
    # frames the killed companion had written but not yet let go of are sent again (at least once);
    # on the link itself no frame arrives twice at one receiver
    assert 0 <= again <= 4, (again, summary)
    assert "link_duplicate" not in summary, summary
    assert counter(phone_summary, "link_peer_restarts") >= 1, phone_summary
    print(f"recovery after restart: {recovery_s:.2f} s; frames written again: {again}")


def test_ten_thousand_mutated_messages_of_24_kinds_leave_the_stream_whole(tmp_path):
    address = f"tcp://127.0.0.1:{free_tcp_port()}"
    frames = 180
    receiver = companion(tmp_path, address)
    sender = phone(tmp_path, address, frames=frames, policy="block")
    try:
        wait_until(lambda: len(seqs(tmp_path)) >= 3, what="first frames")
        rss_before = rss_kib(receiver.pid)
        fuzz = attack("fuzz", address, messages=12_000, connections=4)
        rss_after = rss_kib(receiver.pid)
        phone_summary = finish(sender)
        summary = finish(receiver)
    finally:
        cleanup(sender, receiver)
    assert fuzz["kinds"] >= 20 and fuzz["sent"] >= 10_000, fuzz
    legit = seqs(tmp_path)
    assert len(legit) >= 0.95 * frames and all(s < frames for s in legit), (fuzz, summary, phone_summary)
    refused = sum(counter(summary, name) for name in
                  ("link_malformed", "link_unsynced", "link_unexpected", "link_second_sender"))
    assert refused >= 0.5 * fuzz["sent"], (fuzz, summary)
    assert rss_after - rss_before < 64 * 1024, (rss_before, rss_after)      # bounded: no table grows
    print(f"fuzz: {fuzz['sent'] / fuzz['seconds']:.0f} messages/s sent, RSS {rss_before} -> {rss_after} KiB")


pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux (/proc, /dev/shm)")
