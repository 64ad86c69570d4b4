"""A mask-only link (issue 6): the companion keeps its full frames, the phone segments a small copy and
sends back only the mask, and the companion pairs each mask with its own frame by capture timestamp.

Not for: the link protocol itself (test_wire.py) or faults (test_link_faults.py). Two real processes,
the real model; the one-process run of the same graph file is the reference.
"""
from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from portraitflow.graph.graph_file import parse_graph
from portraitflow.graph.parts import PartSettings, plan_links, split_part
from portraitflow.graph.runner import run_graph

from support.split import finish, free_tcp_port, start_part

FRAMES = 12

# companion -> phone -> companion: the parts alternate, the whole graph is still a DAG
_GRAPH = """
[graph]
name = "mask_only"
policy = "block"

[nodes.capture]
type = "sample_source"
part = "companion"
options = {{ frames = {frames} }}

[nodes.shrink]
type = "downscale"
part = "companion"
inputs = {{ frame = "capture.frame" }}
options = {{ max_width = 320, max_height = 180 }}

[nodes.segment]
type = "segment"
part = "phone"
inputs = {{ frame = "shrink.frame" }}

[nodes.fringe]
type = "fringe"
part = "companion"
inputs = {{ frame = "capture.frame", mask = "segment.mask" }}

[nodes.composite]
type = "composite"
part = "companion"
inputs = {{ frame = "capture.frame", mask = "fringe.mask" }}
options = {{ look = "replace" }}

[nodes.output]
type = "png_sink"
part = "companion"
inputs = {{ frame = "composite.frame" }}
options = {{ path = "{out}/f_{{seq:04d}}.png" }}
"""


def write_graph(path: Path, out: Path, frames: int = FRAMES) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(_GRAPH.format(frames=frames, out=out), encoding="utf-8")
    return path


def summary_row(stderr: str, node: str) -> str:
    """The run summary's line for ``node`` (node, type, packets, ms p50, ms p95, counters)."""
    rows = [line for line in stderr.splitlines() if line.split()[:1] == [node]]
    assert len(rows) == 1, f"no summary row for {node}:\n{stderr}"
    return rows[0]


def read_outputs(folder: Path) -> list[np.ndarray]:
    names = sorted(p.name for p in folder.iterdir())
    assert names == [f"f_{i:04d}.png" for i in range(FRAMES)], names
    return [cv2.imread(str(folder / name)).astype(np.int16) for name in names]


def test_the_splitter_derives_a_frame_link_out_and_a_mask_link_back(tmp_path):
    spec = parse_graph(write_graph(tmp_path / "g.toml", tmp_path / "out").read_text())
    links = [(lk.source, lk.source_port, lk.source_part, lk.target_part, lk.kind) for lk in plan_links(spec)]
    assert links == [("segment", "mask", "phone", "companion", "mask"),
                     ("shrink", "frame", "companion", "phone", "frame")]
    companion = split_part(spec, "companion", PartSettings(bind="tcp://*:6000", mask_codec="mask8"))
    phone = split_part(spec, "phone", PartSettings(connect="tcp://127.0.0.1:6000", mask_codec="mask8"))
    # the phone runs the model only; full frames never leave the companion
    assert sorted(phone.nodes) == ["from_companion_shrink_frame", "segment", "to_companion_segment_mask"]
    assert phone.nodes["to_companion_segment_mask"].options["codec"] == "mask8"
    links_in = {n.id: n.options for n in companion.nodes.values() if n.type == "link_in"}
    assert list(links_in) == ["from_phone_segment_mask"]
    assert links_in["from_phone_segment_mask"]["kind"] == "mask"
    # fringe and composite read the companion's own full frame and the mask that came back
    assert {e.name for e in companion.edges} >= {"capture.frame->fringe.frame",
                                                 "capture.frame->composite.frame",
                                                 "from_phone_segment_mask.packet->fringe.mask"}


@pytest.mark.parametrize("transport, mask_codec", [("ipc", "mask8"), ("tcp", "raw")])
def test_masks_come_back_and_pair_with_their_own_frames(tmp_path, model_cache, transport, mask_codec):
    split_out, whole_out = tmp_path / "split", tmp_path / "whole"
    graph = write_graph(tmp_path / "split.toml", split_out)
    address = f"ipc://{tmp_path}/link" if transport == "ipc" else f"tcp://127.0.0.1:{free_tcp_port()}"
    # the phone connects both links (frames in, masks out); the companion binds both
    phone = start_part(graph, "phone", "--connect", address, "--mask-codec", mask_codec)
    companion = start_part(graph, "companion", "--bind", address)
    code_c, err_c = finish(companion, timeout=90)
    code_p, err_p = finish(phone, timeout=90)
    assert code_c == 0, err_c
    assert code_p == 0, err_p

    # the link back carried masks only, one per frame: the link_in accepts kind=mask and counts and
    # drops anything else (link_wrong_kind); every one it received was a mask
    assert f"link_sent={FRAMES}" in summary_row(err_p, "to_companion_segment_mask")
    mask_in = summary_row(err_c, "from_phone_segment_mask")
    assert f"link_received={FRAMES}" in mask_in and "link_wrong_kind" not in mask_in
    assert f"frames_written={FRAMES}" in summary_row(err_c, "output")
    assert not re.search(r"^from_phone_(?!segment_mask)", err_c, re.MULTILINE), err_c

    whole_stats = run_graph(parse_graph(write_graph(tmp_path / "whole.toml", whole_out).read_text()))
    split, whole = read_outputs(split_out), read_outputs(whole_out)
    assert split[0].shape == (720, 1280, 3)
    # the reference can tell frames apart: a composite with a neighbour's frame and mask differs a lot
    assert all(np.abs(whole[i] - whole[i + 1]).max() > 60 for i in range(FRAMES - 1))
    for i, (got, want) in enumerate(zip(split, whole)):
        difference = np.abs(got - want)
        if mask_codec == "raw":
            # raw float32 masks over a local link are lossless: the same image as one process
            assert difference.max() == 0, (f"frame {i}: max difference {difference.max()} over "
                                           f"{np.count_nonzero(difference)} values; companion:\n{err_c}\n"
                                           f"phone:\n{err_p}\none process:\n{whole_stats.summary()}")
        else:
            # mask8 rounds each mask value to 1/255 (error <= 1/510); through the guided fringe and the
            # blend (and the blur's background weights, taken from the 8-bit alpha) that moves an edge
            # pixel by a few levels, never a mis-paired mask's tens of levels
            assert difference.max() <= 8, f"frame {i}: max difference {difference.max()}"
            assert difference.mean() < 0.05, f"frame {i}: mean difference {difference.mean():.3f}"
