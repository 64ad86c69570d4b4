"""Two real processes run one graph split by part labels, over ipc:// and tcp://127.0.0.1.

Not for: protocol details (test_link_protocol.py) or faults (test_link_faults.py).
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from portraitflow.graph.graph_file import parse_graph
from portraitflow.graph.parts import PartSettings, link_address, plan_links, split_part
from portraitflow.graph.runner import run_graph
from portraitflow.graph.transport.shm_ring import shm_supported

from support.split import PORTRAITFLOW, finish, free_tcp_port, split_graph, start_part

FRAMES = 24

def write_graph(tmp_path: Path, out: Path, frames: int = FRAMES) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "split.toml"
    path.write_text(split_graph(frames, out), encoding="utf-8")
    return path


@pytest.mark.parametrize("transport", ["ipc", "tcp"])
def test_split_graph_over_two_processes_writes_every_frame_like_one_process(tmp_path, transport):
    split_out, whole_out = tmp_path / "split", tmp_path / "whole"
    graph = write_graph(tmp_path, split_out)
    address = (f"ipc://{tmp_path}/link" if transport == "ipc" else f"tcp://127.0.0.1:{free_tcp_port()}")
    # the receiver binds; start the sender first on purpose: it must wait for credit, not lose frames
    phone = start_part(graph, "phone", "--connect", address)
    companion = start_part(graph, "companion", "--bind", address)
    code_c, err_c = finish(companion)
    code_p, err_p = finish(phone)
    assert code_p == 0, err_p
    assert code_c == 0, err_c
    assert "link_sent=24" in err_p

    whole = parse_graph(write_graph(tmp_path, whole_out).read_text().replace(str(split_out), str(whole_out)))
    run_graph(whole)
    names = sorted(p.name for p in split_out.iterdir())
    assert names == [f"f_{i:04d}.png" for i in range(FRAMES)]
    assert names == sorted(p.name for p in whole_out.iterdir())
    for name in names[::5]:
        split_png = cv2.imread(str(split_out / name))
        whole_png = cv2.imread(str(whole_out / name))
        assert split_png.shape == (180, 320, 3)
        # raw frames over a local link are lossless: the split run equals the one-process run
        assert np.array_equal(split_png, whole_png), name


def test_links_are_derived_from_the_edges_between_parts(tmp_path):
    spec = parse_graph(split_graph(3, tmp_path))
    links = plan_links(spec)
    assert [(lk.source, lk.source_port, lk.source_part, lk.target_part, lk.kind) for lk in links] == [
        ("capture", "frame", "phone", "companion", "frame")]
    phone = split_part(spec, "phone", PartSettings(connect="tcp://127.0.0.1:6000"))
    companion = split_part(spec, "companion", PartSettings(bind="tcp://*:6000"))
    assert sorted(phone.nodes) == ["capture", "to_companion_capture_frame"]
    assert sorted(companion.nodes) == ["from_phone_capture_frame", "output", "shrink"]
    out = phone.nodes["to_companion_capture_frame"].options
    # a same-host link offers shared memory where the machine has it (raw until the receiver accepts)
    assert (out["address"], out["mode"], out["codec"], out["policy"]) == (
        "tcp://127.0.0.1:6000", "connect", "shm" if shm_supported() else "raw", "block")
    assert split_part(spec, "phone", PartSettings(connect="tcp://laptop:6000", insecure=True)).nodes[
        "to_companion_capture_frame"].options["codec"] == "jpeg"
    inp = companion.nodes["from_phone_capture_frame"].options
    assert (inp["address"], inp["mode"], inp["kind"]) == ("tcp://*:6000", "bind", "frame")
    assert [e.name for e in companion.edges] == ["shrink.frame->output.frame",
                                                 "from_phone_capture_frame.packet->shrink.frame"]


def test_a_second_link_gets_the_next_port_or_path():
    assert link_address("tcp://10.0.0.2:5555", 0) == "tcp://10.0.0.2:5555"
    assert link_address("tcp://*:5555", 2) == "tcp://*:5557"
    assert link_address("ipc:///tmp/pf", 1) == "ipc:///tmp/pf-1"


def test_part_errors_name_the_problem(tmp_path):
    from portraitflow.graph.errors import ConfigError

    spec = parse_graph(split_graph(3, tmp_path))
    with pytest.raises(ConfigError, match="no part 'laptop'.*companion, phone"):
        split_part(spec, "laptop")
    spec.nodes["output"].part = None
    with pytest.raises(ConfigError, match="output"):
        split_part(spec, "phone")


def test_a_remote_address_without_keys_is_refused(tmp_path):
    graph = write_graph(tmp_path, tmp_path / "out", frames=2)
    result = subprocess.run([*PORTRAITFLOW, "run", "--graph", str(graph), "--part", "companion",
                             "--bind", "tcp://192.0.2.1:5999"], capture_output=True, text=True, timeout=60,
                            env={**os.environ})
    assert result.returncode != 0
    assert "CurveZMQ" in result.stderr and "--insecure" in result.stderr
