"""The shm codec: same-host links whose pixels go through a shared-memory ring, in real processes.

Not for: the other codecs (test_split_run.py) or protocol faults in general (test_link_faults.py).
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from portraitflow.graph.graph_file import parse_graph
from portraitflow.graph.runner import run_graph
from portraitflow.graph.transport import wire
from portraitflow.graph.transport.codecs import PayloadDecoder, ShmEncoder
from portraitflow.graph.transport.link_out import LinkOut
from portraitflow.graph.transport.shm_ring import NAME_PATTERN, SHM_DIR, ShmRing, shm_room

from support.split import PORTRAITFLOW, PORTRAITFLOW_WITH_TEST_NODES, finish, split_graph, start_part

PHONE = """
[graph]
name = "shm_phone"
policy = "block"
[nodes.capture]
type = "sample_source"
options = {{ frames = {frames}, realtime = {realtime} }}
[nodes.send]
type = "link_out"
inputs = {{ packet = "capture.frame" }}
options = {{ address = "{address}", mode = "connect", stream = "frames", codec = "shm", policy = "block" }}
"""

COMPANION = """
[graph]
name = "shm_companion"
policy = "block"
[nodes.receive]
type = "link_in"
options = {{ address = "{address}", mode = "bind", stream = "frames", kind = "frame", window = 4 }}
[nodes.output]
type = "png_sink"
inputs = {{ frame = "receive.packet" }}
options = {{ path = "{out}/f_{{seq:04d}}.png" }}
"""

WHOLE = """
[graph]
name = "shm_whole"
[nodes.capture]
type = "sample_source"
options = {{ frames = {frames} }}
[nodes.output]
type = "png_sink"
inputs = {{ frame = "capture.frame" }}
options = {{ path = "{out}/f_{{seq:04d}}.png" }}
"""


def start(graph: Path, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([*PORTRAITFLOW, "run", "--graph", str(graph)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def segments_of(pid: int) -> list[str]:
    return [n for n in os.listdir(SHM_DIR) if (m := NAME_PATTERN.match(n)) and int(m.group(1)) == pid]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


pytestmark = pytest.mark.skipif(not os.path.isdir(SHM_DIR), reason="needs /dev/shm (Linux)")


def test_a_split_run_over_ipc_with_shm_delivers_every_frame_pixel_identical(tmp_path):
    frames, address = 12, f"ipc://{tmp_path}/shm"
    split_out, whole_out = tmp_path / "split", tmp_path / "whole"
    split_out.mkdir()
    whole_out.mkdir()
    phone = start(write(tmp_path / "phone.toml", PHONE.format(frames=frames, realtime="false", address=address)))
    companion = start(write(tmp_path / "companion.toml", COMPANION.format(address=address, out=split_out)))
    code_c, err_c = finish(companion)
    code_p, err_p = finish(phone)
    assert code_p == 0, err_p
    assert code_c == 0, err_c
    assert f"link_sent={frames}" in err_p
    assert segments_of(phone.pid) == []                    # unlinked at close
    assert "leaked shared_memory" not in err_p + err_c     # no resource_tracker complaints

    run_graph(parse_graph(WHOLE.format(frames=frames, out=whole_out)))
    names = sorted(p.name for p in split_out.iterdir())
    assert names == [f"f_{i:04d}.png" for i in range(frames)]
    for name in names:
        split_png, whole_png = cv2.imread(str(split_out / name)), cv2.imread(str(whole_out / name))
        assert split_png.shape == whole_png.shape == (720, 1280, 3) or split_png.shape == whole_png.shape
        assert np.array_equal(split_png, whole_png), name


HOARDING_COMPANION = """
[graph]
name = "shm_hoarder"
policy = "block"
[nodes.receive]
type = "link_in"
options = {{ address = "{address}", mode = "bind", stream = "frames", kind = "frame", window = 4 }}
[nodes.history]
type = "t_hoard"
inputs = {{ frame = "receive.packet" }}
options = {{ keep = 12 }}
[nodes.output]
type = "png_sink"
inputs = {{ frame = "history.frame" }}
options = {{ path = "{out}/f_{{seq:04d}}.png" }}
"""


def test_a_receiver_keeping_more_frames_than_the_ring_has_slots_never_stalls_the_link(tmp_path):
    # the companion keeps 12 frames referenced while the sender's ring has 8 slots: frames are copied
    # out of the ring, so the slots come back as soon as each frame is read, and every frame arrives
    frames, address, out = 30, f"ipc://{tmp_path}/shm", tmp_path / "out"
    out.mkdir()
    graph = write(tmp_path / "c.toml", HOARDING_COMPANION.format(address=address, out=out))
    companion = subprocess.Popen([*PORTRAITFLOW_WITH_TEST_NODES, "run", "--graph", str(graph)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    phone = start(write(tmp_path / "phone.toml", PHONE.format(frames=frames, realtime="false", address=address)))
    code_p, err_p = finish(phone)
    code_c, err_c = finish(companion)
    assert code_p == 0, err_p
    assert code_c == 0, err_c
    assert f"link_sent={frames}" in err_p
    assert "link_shm_accepted=1" in err_c and "link_undecodable" not in err_c, err_c
    whole_out = tmp_path / "whole"
    whole_out.mkdir()
    run_graph(parse_graph(WHOLE.format(frames=frames, out=whole_out)))
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"f_{i:04d}.png" for i in range(frames)]
    for name in names:
        assert np.array_equal(cv2.imread(str(out / name)), cv2.imread(str(whole_out / name))), name


def test_a_killed_sender_leaves_no_segment_after_the_next_start_and_the_receiver_survives(tmp_path):
    address, out = f"ipc://{tmp_path}/shm", tmp_path / "out"
    out.mkdir()
    companion = start(write(tmp_path / "companion.toml", COMPANION.format(address=address, out=out)))
    # its own session and process group: kill -9 takes the resource_tracker child too, so only the
    # next sender's start-up sweep can remove the segment
    doomed = start(write(tmp_path / "long.toml", PHONE.format(frames=100000, realtime="true", address=address)),
                   start_new_session=True)
    deadline = time.monotonic() + 30
    while not segments_of(doomed.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    stale = segments_of(doomed.pid)
    assert stale, "the sender never created its ring"
    os.killpg(doomed.pid, signal.SIGKILL)
    doomed.communicate(timeout=10)
    time.sleep(0.3)
    assert segments_of(doomed.pid) == stale                # nobody cleaned up: the sweep must
    assert companion.poll() is None

    phone = start(write(tmp_path / "short.toml", PHONE.format(frames=6, realtime="false", address=address)))
    code_p, err_p = finish(phone)
    code_c, err_c = finish(companion)
    assert code_p == 0, err_p
    assert code_c == 0, err_c                              # the receiver survived and ended with the new stream
    assert "link_sent=6" in err_p
    assert segments_of(doomed.pid) == []
    assert segments_of(phone.pid) == []


def test_shm_is_refused_for_an_address_that_leaves_the_host():
    with pytest.raises(ValueError, match=r"same-host.*tcp://192\.0\.2\.1:5555"):
        LinkOut.Options(address="tcp://192.0.2.1:5555", codec="shm")
    LinkOut.Options(address="tcp://localhost:5555", codec="shm")
    LinkOut.Options(address="ipc:///tmp/x", codec="shm")


def header(session: bytes, link_seq: int, fields: dict) -> dict:
    return {"v": 2, "kind": "data", "session": session, "receiver_session": bytes(16), "stream": "s",
            "link_seq": link_seq, "seq": link_seq,
            "capture_ts_ns": 1, "sender_ts_ns": 1, "meta": {}, **fields}


def test_hostile_shm_headers_are_refused_before_memory_is_read():
    session = b"s" * 16
    frame = np.arange(48 * 64 * 3, dtype=np.uint32).astype(np.uint8).reshape(48, 64, 3)
    mine, theirs = ShmEncoder(slots=4), ShmEncoder(slots=4)
    mine.answer(True)                                      # as if the receiver had accepted the offer
    theirs.answer(True)
    decoder = PayloadDecoder()
    try:
        fields, payload = mine.encode(frame, 5)
        assert payload == b""
        good = header(session, 5, fields)
        assert np.array_equal(decoder.decode(good, payload), frame)
        other_fields, _ = theirs.encode(frame, 0)
        hostile = [
            {**good, "shm_name": other_fields["shm_name"]},            # another sender's ring
            {**good, "shm_name": "../../etc/passwd"},                  # not a ring name at all
            {**good, "shm_name": fields["shm_name"][:-1] + "9"},       # a generation that does not exist
            {**good, "shm_slot": 4},                                   # outside the ring
            {**good, "shm_slot": -1},
            {**good, "shm_offset": fields["shm_offset"] + 64},         # not where the slot is
            {**good, "shm_offset": "0"},
            {**good, "shape": [96, 64, 3]},                            # larger than the slot
            {**good, "link_seq": 9},                                   # the slot holds another message
        ]
        for bad in hostile:
            with pytest.raises(wire.WireError):
                decoder.decode(bad, b"")
        with pytest.raises(wire.WireError, match="payload"):
            decoder.decode(good, b"xx")
        with pytest.raises(wire.WireError, match="loopback"):
            PayloadDecoder(allow_shm=False).decode(good, b"")
        # once the receiver has released link_seq 5, its slot is reused: the old header no longer reads
        mine.release(6, [])
        for link_seq in range(9, 13):                              # four more frames in a ring of four
            mine.encode(frame[::-1].copy(), link_seq)
        with pytest.raises(wire.WireError, match="does not hold"):
            decoder.decode(good, b"")
    finally:
        decoder.close()
        mine.close()
        theirs.close()
    assert not [n for n in os.listdir(SHM_DIR) if n.startswith(f"pfshm_{os.getpid()}_")]


def test_a_held_slot_is_never_rewritten_and_a_full_ring_falls_back_to_raw():
    session = b"b" * 16
    frames = [np.full((32, 48, 3), i, np.uint8) for i in range(6)]
    encoder = ShmEncoder(slots=3)
    encoder.answer(True)
    try:
        sent = [encoder.encode(f, i) for i, f in enumerate(frames[:3])]
        assert [fields["codec"] for fields, _ in sent] == ["shm"] * 3
        # nothing released: the fourth frame cannot take a slot, so it travels as raw pixels
        fields, payload = encoder.encode(frames[3], 3)
        assert fields["codec"] == "raw" and np.array_equal(np.asarray(payload), frames[3])
        assert encoder.counts == {"ring_full": 1, "no_room": 0}
        # the receiver has 0..3 and still holds 1: slots of 0 and 2 are free, 1 stays untouched
        encoder.release(4, [1])
        decoder = PayloadDecoder()
        try:
            for i in (4, 5):
                fields, _ = encoder.encode(frames[i], i)
                assert fields["codec"] == "shm" and fields["shm_slot"] != sent[1][0]["shm_slot"]
                assert np.array_equal(decoder.decode(header(session, i, fields), b""), frames[i])
            assert np.array_equal(decoder.decode(header(session, 1, sent[1][0]), b""), frames[1])
        finally:
            decoder.close()
    finally:
        encoder.close()


def segment_path(fields: dict) -> str:
    return os.path.join(SHM_DIR, fields["shm_name"])


def test_a_segment_truncated_by_its_sender_is_a_counted_error_not_a_sigbus():
    # the receiver never maps a peer's segment: it reads through a descriptor, so a truncated
    # segment gives a short read (WireError, counted and dropped) where a mapping would kill it
    frame = np.arange(48 * 64 * 3, dtype=np.uint32).astype(np.uint8).reshape(48, 64, 3)
    encoder, decoder = ShmEncoder(slots=4), PayloadDecoder()
    encoder.answer(True)
    try:
        fields, _ = encoder.encode(frame, 0)
        good = header(b"t" * 16, 0, fields)
        assert np.array_equal(decoder.decode(good, b""), frame)     # opened and read once
        fields, _ = encoder.encode(frame, 1)
        os.truncate(segment_path(fields), 4096)                      # the peer shrinks it under us
        with pytest.raises(wire.WireError, match="truncated"):
            decoder.decode(header(b"t" * 16, 1, fields), b"")
        os.truncate(segment_path(fields), 0)
        with pytest.raises(wire.WireError, match="truncated"):
            decoder.decode(header(b"t" * 16, 1, fields), b"")
    finally:
        decoder.close()
        encoder.close()


@pytest.mark.parametrize("change", ["mode", "size"])
def test_a_segment_with_other_permissions_or_another_size_than_declared_is_never_opened(change):
    frame = np.zeros((32, 48, 3), np.uint8)
    encoder, decoder = ShmEncoder(slots=2), PayloadDecoder()
    try:
        fields, _ = encoder.encode(frame, 0)                           # not yet accepted: an offer
        offer = header(b"m" * 16, 0, fields)
        path = os.path.join(SHM_DIR, offer["shm_offer"])
        if change == "mode":
            os.chmod(path, 0o644)                                      # readable by other users
        else:
            os.truncate(path, os.path.getsize(path) + 4096)            # not the size its layout declares
        assert decoder.can_map_shm(offer) is False
    finally:
        decoder.close()
        encoder.close()


def test_a_ring_larger_than_the_free_shared_memory_is_never_created():
    # tmpfs gives pages only when written: a segment beyond what is free would SIGBUS the sender
    # mid-copy, so the ring checks the room first and the link sends that frame raw instead
    ring = ShmRing(slots=64)
    huge = np.broadcast_to(np.zeros(4, np.uint8), (65535, 65535, 4))     # 17 GB a slot, no memory behind it
    try:
        assert ring.nbytes_needed(huge.nbytes) > shm_room()
        assert ring.write(huge, 0) is None
        assert ring.no_room == 1 and ring.full == 0
        assert segments_of(os.getpid()) == []
        small = np.zeros((8, 8, 3), np.uint8)
        assert ring.write(small, 1) is not None                   # a frame that fits still uses the ring
    finally:
        ring.close()


def private_shm_command() -> list[str] | None:
    """The CLI run in its own mount namespace with an empty /dev/shm of its own (like a container that
    does not share the host's), or None where this machine does not allow it (not root, no unshare)."""
    prefix = ["unshare", "-m", "--propagation", "private", "sh", "-c",
              'mount -t tmpfs -o size=16m tmpfs /dev/shm && exec "$@"', "sh"]
    try:
        probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return [*prefix, *PORTRAITFLOW] if probe.returncode == 0 else None


def run_default_split(tmp_path: Path, companion_command: list[str]) -> tuple[str, str, Path]:
    """sample_source on the phone -> downscale -> PNGs on the companion, over ipc, codecs by default."""
    frames, address, out = 12, f"ipc://{tmp_path}/split", tmp_path / "out"
    out.mkdir()
    graph = write(tmp_path / "split.toml", split_graph(frames, out))
    companion = start_part(graph, "companion", "--bind", address, command=companion_command)
    phone = start_part(graph, "phone", "--connect", address)
    code_p, err_p = finish(phone)
    code_c, err_c = finish(companion)
    assert code_p == 0, err_p
    assert code_c == 0, err_c
    whole = tmp_path / "whole"
    whole.mkdir()
    run_graph(parse_graph(split_graph(frames, whole)))
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"f_{i:04d}.png" for i in range(frames)]          # nothing lost, whatever the codec
    for name in names:
        assert np.array_equal(cv2.imread(str(out / name)), cv2.imread(str(whole / name))), name
    return err_p, err_c, out


def test_a_same_host_split_uses_shared_memory_once_the_receiver_accepts_it(tmp_path):
    err_p, err_c, _ = run_default_split(tmp_path, PORTRAITFLOW)
    assert "link_shm_accepted=1" in err_c, err_c
    assert "link_undecodable" not in err_c, err_c
    assert "link_shm_refused" not in err_p, err_p


def test_a_receiver_without_the_senders_shared_memory_refuses_it_and_every_frame_still_arrives(tmp_path):
    command = private_shm_command()
    if command is None:
        pytest.skip("needs unshare and mount (root) to give the companion a /dev/shm of its own")
    err_p, err_c, _ = run_default_split(tmp_path, command)
    assert "link_shm_unreachable=1" in err_c, err_c
    assert "link_shm_refused=1" in err_p, err_p
    assert "link_undecodable" not in err_c, err_c
