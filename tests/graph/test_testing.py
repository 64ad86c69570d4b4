"""NodeHarness / run_node: one node through the runner's own checks (options, kinds, timestamps,
pairing), with the run's counters; real nodes on real payloads."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from portraitflow.graph import ConfigError, ContractError, Frame, Mask, Node
from portraitflow.graph.packet import Packet
from portraitflow.graph.testing import NodeHarness, NodeStepper, make_node, packets, run_node
from portraitflow.nodes.fringe import Fringe

import support.graph_nodes  # noqa: F401  (registers t_fail)


def frame_and_model_mask(i: int) -> tuple[np.ndarray, np.ndarray]:
    frame = np.zeros((96, 128, 3), np.uint8)
    frame[:, 40 + i:90 + i] = 200                    # a bright person-shaped band
    mask = np.zeros((24, 32), np.float32)
    mask[:, (40 + i) // 4:(90 + i) // 4] = 1.0
    return frame, mask


def test_fringe_pairs_by_timestamp_with_the_runtimes_own_fallbacks():
    frames, masks = zip(*(frame_and_model_mask(4 * i) for i in range(6)))
    # 30 fps: the mask for frame 3 never came, so frame 3 gets mask 2 (33 ms old, within max_age)
    frame_packets, mask_packets = packets(list(frames)), packets(list(masks))
    del mask_packets[3]
    result = NodeHarness(Fringe, {"feather": 2.0}).run({"frame": frame_packets, "mask": mask_packets})
    out = result["mask"]
    assert [p.seq for p in out] == [0, 1, 2, 3, 4, 5]
    assert all(p.payload.shape == (96, 128) and p.payload.dtype == np.float32 for p in out)
    band = [int(np.argmax(p.payload[48] > 0.5)) for p in out]     # where the person's edge is
    assert band[3] == band[2] and band[4] > band[3]                # frame 3 drawn with mask 2
    assert result.late_or_missing == {"mask": 1} and result.counters == {}
    # 2.5 fps: a mask 400 ms old is too old (fringe's max_age 250 ms): no mask, counted, nothing emitted
    frame_packets, mask_packets = (packets(list(frames), period_ns=400_000_000),
                                   packets(list(masks), period_ns=400_000_000))
    del mask_packets[3]
    result = NodeHarness(Fringe).run({"frame": frame_packets, "mask": mask_packets})
    assert [p.seq for p in result["mask"]] == [0, 1, 2, 4, 5]
    assert result.counters == {"mask_missing": 1} and result.late_or_missing == {"mask": 1}
    assert result.processed == 6 and result.emitted == 5 and result.dropped == 0


def test_options_are_validated_as_a_graph_file_would_be():
    with pytest.raises(ConfigError, match=r"node:feather: feather must be"):
        NodeHarness(Fringe, {"feather": -1.0}).run({"frame": [], "mask": []})
    with pytest.raises(ConfigError, match="unknown option 'feathr'"):
        NodeHarness(Fringe, {"feathr": 1.0}).run({})


def test_an_input_payload_of_the_wrong_kind_is_refused_naming_the_port():
    frame, _ = frame_and_model_mask(0)
    wrong = np.zeros((24, 32), np.float64)
    with pytest.raises(ContractError, match=r"output 'packet' \(mask\): expected float32 HxW") as info:
        run_node(Fringe, {"frame": packets([frame]), "mask": packets([wrong])})
    assert "node 'input_mask'" in "".join(info.value.__notes__)


class Rewinds(Node):
    """Emits its packet with a timestamp one second older than the one before: the runner refuses it."""

    inputs = {"frame": Frame}
    outputs = {"frame": Frame}

    def process(self, ctx):
        packet = ctx.inputs["frame"]
        ctx.emit("frame", Packet(packet.payload, 10**12 - packet.seq * 10**9, packet.seq))


class MakesFloat64(Node):
    inputs = {"frame": Frame}
    outputs = {"mask": Mask}

    @dataclass(frozen=True)
    class Options:
        scale: float = 1.0

    def process(self, ctx):
        packet = ctx.inputs["frame"]
        ctx.emit("mask", packet.derive(packet.payload[..., 0] / 255.0 * self.options.scale))


def test_the_runners_output_checks_apply_timestamps_and_kinds():
    frames = packets([np.zeros((4, 4, 3), np.uint8)] * 3)
    with pytest.raises(ContractError, match="timestamps must increase") as info:
        run_node(Rewinds, {"frame": frames})
    note = "".join(info.value.__notes__)
    assert "node 'node' (harness:" in note and "at frame 1" in note
    with pytest.raises(ContractError, match=r"output 'mask' \(mask\): expected float32 HxW, got float64"):
        run_node(make_node(MakesFloat64, {"scale": 2.0}), {"frame": frames})


def test_a_node_error_keeps_its_type_and_names_the_frame():
    frames = packets([np.full((4, 4, 3), i, np.uint8) for i in range(5)])
    with pytest.raises(ValueError, match="boom") as info:
        NodeHarness("t_fail", {"at": 3}).run({"frame": frames})
    assert "node 'node' (t_fail) failed at frame 2 (t=" in "".join(info.value.__notes__)


def test_a_source_under_test_runs_until_max_packets_and_a_sink_reports_counters():
    frames = NodeHarness("sample_source", {"frames": 50}, max_packets=4).run()
    assert [p.seq for p in frames["frame"]] == [0, 1, 2, 3]
    assert frames["frame"][0].payload.shape == (720, 1280, 3)
    sink = NodeHarness("null_sink").run({"frame": packets([np.zeros((2, 2, 3), np.uint8)] * 7)})
    assert dict(sink) == {} and sink.counters == {"discarded": 7} and sink.processed == 7


def test_pace_feeds_packets_at_the_spacing_of_their_timestamps():
    # a burst of three, a 150 ms gap, then two: the node sees the gap, not a flat rate
    stamps = [0, 1_000_000, 2_000_000, 152_000_000, 153_000_000]
    feed = [Packet(np.zeros((2, 2, 3), np.uint8), 10**9 + ts, i) for i, ts in enumerate(stamps)]

    seen: list[int] = []

    class Clock(Node):
        inputs = {"frame": Frame}

        def process(self, ctx):
            import time
            seen.append(time.monotonic_ns())

    import time
    started = time.monotonic_ns()
    result = NodeHarness(Clock, pace=True).run({"frame": feed})
    assert result.processed == 5
    # lower bounds from before the feed began, so they hold however late any packet is processed
    # (a loaded machine may be late, never early): the packets after the gap came no sooner than the
    # schedule says; unpaced, all five arrive within the graph's start-up
    assert seen[3] - started >= 152_000_000
    assert seen[4] - started >= 153_000_000


def test_the_stepper_applies_the_runtime_checks_to_each_step():
    """NodeStepper: options built like the runner's, a None primary refused, inputs and outputs checked
    against the port kinds, and counters kept."""
    with pytest.raises(ConfigError, match="feather"):
        NodeStepper(Fringe, {"feather": -1.0})
    frame = np.zeros((32, 32, 3), np.uint8)
    mask = np.zeros((32, 32), np.float32)
    with NodeStepper(Fringe) as step:
        frame_packet = packets([frame])[0]
        with pytest.raises(ContractError, match="primary input 'frame' is never None"):
            step.process(frame=None, mask=frame_packet.derive(mask))
        with pytest.raises(ContractError, match="input 'mask'"):
            step.process(frame=frame_packet, mask=frame_packet.derive(mask.astype(np.float64)))
        step.process(frame=frame_packet, mask=None)
    assert step.counters == {"mask_missing": 1} and step.emitted["mask"] == []
