"""The contract is what runs: pairing and liveness come from the options, are checked before the first
frame and are the rules the runner uses; errors name the frame index and media time."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import av
import numpy as np
import pytest

from portraitflow.graph import ContractError, Encoding, Frame, Node, NodeError, Pairing, registry
from portraitflow.graph.runner import run_graph
from portraitflow.graph.spec import DropPolicy, GraphSpec
from portraitflow.graph.validate import resolve

import support.graph_nodes  # noqa: F401  (registers t_count, t_fail)


class EveryOther(Node):
    """Passes on every second frame (seq 0, 2, 4...)."""

    inputs = {"frame": Frame}
    outputs = {"frame": Frame}

    def process(self, ctx):
        packet = ctx.inputs["frame"]
        if packet.seq % 2 == 0:
            ctx.emit("frame", packet)


class PickPrimary(Node):
    """Two frame inputs; which one drives is an option. Records (a seq, b seq) per call."""

    inputs = {"a": Frame, "b": Frame}
    calls: dict[str, list] = {}

    @dataclass(frozen=True)
    class Options:
        primary: Literal["a", "b", "c"] = "a"
        key: str = "k"

    @classmethod
    def pairing_for(cls, options):
        return Pairing(primary=options.primary, wait_ms=None, max_age_ms=0.0)

    def open(self, ctx):
        self.got = PickPrimary.calls.setdefault(self.options.key, [])

    def process(self, ctx):
        self.got.append(tuple(None if p is None else p.seq for p in (ctx.inputs["a"], ctx.inputs["b"])))


class LiveByOption(Node):
    """A source whose liveness is an option; it counts how often it is built."""

    outputs = {"frame": Frame}
    built = 0

    @dataclass(frozen=True)
    class Options:
        realtime: bool = False

    @classmethod
    def live_for(cls, options):
        return options.realtime

    def __init__(self, *args, **kwargs):
        LiveByOption.built += 1
        super().__init__(*args, **kwargs)

    def process(self, ctx):
        raise AssertionError("never run here")


registry.register("t_every_other", EveryOther)
registry.register("t_pick", PickPrimary)
registry.register("t_live_by_option", LiveByOption)


def pick_graph(primary: str, key: str) -> GraphSpec:
    return (GraphSpec(name="pick", policy="block").add("src", "t_count", frames=10)
            .add("half", "t_every_other").add("pick", "t_pick", primary=primary, key=key)
            .connect("src.frame", "pick.a").connect("src.frame", "half.frame")
            .connect("half.frame", "pick.b"))


def test_the_pairing_the_options_ask_for_is_the_one_that_runs():
    assert resolve(pick_graph("b", "x")).node("pick").pairing == Pairing("b", None, 0.0)
    run_graph(pick_graph("a", "drive-a"))
    run_graph(pick_graph("b", "drive-b"))
    # a drives: one call per frame, b paired where it exists; b drives: one call per kept frame
    assert PickPrimary.calls["drive-a"] == [(i, i if i % 2 == 0 else None) for i in range(10)]
    assert PickPrimary.calls["drive-b"] == [(i, i) for i in range(0, 10, 2)]


def test_a_pairing_the_node_cannot_run_with_fails_before_the_first_frame_naming_the_node():
    PickPrimary.calls.pop("bad", None)
    with pytest.raises(ContractError, match=r"pick: PickPrimary: pairing.primary 'c' is not an input"):
        run_graph(pick_graph("c", "bad"))
    assert "bad" not in PickPrimary.calls       # nothing opened, nothing ran


def test_composite_pairing_comes_from_its_options():
    spec = (GraphSpec().add("src", "t_count")
            .add("composite", "composite", mask_wait_ms=7.0, mask_max_age_ms=30.0)
            .connect("src.frame", "composite.frame"))
    assert resolve(spec).node("composite").pairing == Pairing("frame", wait_ms=7.0, max_age_ms=30.0)


def test_liveness_is_read_from_the_options_without_building_the_node():
    LiveByOption.built = 0
    for realtime, policy in ((True, DropPolicy.LATEST), (False, DropPolicy.BLOCK)):
        spec = (GraphSpec().add("src", "t_live_by_option", realtime=realtime).add("out", "null_sink")
                .connect("src.frame", "out.frame"))
        graph = resolve(spec)
        assert graph.node("src").live is realtime
        assert graph.edges[0].policy is policy
    assert LiveByOption.built == 0


def test_a_node_with_two_inputs_and_no_rule_is_refused_at_registration():
    class NoRule(Node):
        inputs = {"a": Frame, "b": Frame}

        def process(self, ctx):
            pass

    with pytest.raises(ContractError, match="must declare `pairing`"):
        registry.register("t_no_rule", NoRule)


def test_an_error_names_the_frame_index_and_the_files_own_media_time(tmp_path):
    path = tmp_path / "in.mp4"
    with av.open(str(path), "w") as container:      # 25 fps: frame 10 is at 0.400 s
        video = container.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        for i in range(20):
            image = np.full((48, 64, 3), 10 * i, np.uint8)
            for packet in video.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
    spec = (GraphSpec().add("capture", "video_source", path=str(path)).add("bad", "t_fail", at=11)
            .connect("capture.frame", "bad.frame"))
    with pytest.raises(NodeError) as info:
        run_graph(spec)
    assert "node 'bad' (t_fail) failed at frame 10 (t=0.400 s): ValueError: boom" in str(info.value)
    assert info.value.frame_index == 10 and info.value.media_time_s == pytest.approx(0.4)
    assert "capture_ts_ns" not in str(info.value)


class OldStyleLive(Node):
    """A plugin written before live_for: it overrides the `live` property (still honoured)."""

    outputs = {"frame": Frame}

    @dataclass(frozen=True)
    class Options:
        realtime: bool = False

    @property
    def live(self) -> bool:
        return self.options.realtime

    def process(self, ctx):
        raise AssertionError("never run here")


registry.register("t_old_style_live", OldStyleLive)


def test_a_node_overriding_the_live_property_still_sets_the_default_policy():
    for realtime, policy in ((True, DropPolicy.LATEST), (False, DropPolicy.BLOCK)):
        spec = (GraphSpec().add("src", "t_old_style_live", realtime=realtime).add("out", "null_sink")
                .connect("src.frame", "out.frame"))
        assert resolve(spec).edges[0].policy is policy


class PacedPlugin(Node):
    """A plugin source that can be paced: its contract names the option `run --realtime` sets."""

    outputs = {"frame": Frame}
    pace_option = "steady"
    seen_options: dict[str, bool] = {}

    @dataclass(frozen=True)
    class Options:
        steady: bool = False
        frames: int = 3

    @classmethod
    def live_for(cls, options):
        return options.steady

    def open(self, ctx):
        PacedPlugin.seen_options["steady"] = self.options.steady
        self.sent = 0

    def process(self, ctx):
        if self.sent == self.options.frames:
            from portraitflow.graph import EndOfStream
            raise EndOfStream
        self.sent += 1
        ctx.emit("frame", ctx.new_packet(np.zeros((4, 4, 3), np.uint8)))


registry.register("t_paced_plugin", PacedPlugin)


def test_run_realtime_paces_any_source_whose_contract_names_its_pace_option(tmp_path):
    from portraitflow.cli.main import main
    path = tmp_path / "g.toml"
    path.write_text((GraphSpec().add("capture", "t_paced_plugin").add("output", "null_sink")
                     .connect("capture.frame", "output.frame")).to_toml())
    assert main(["run", "--graph", str(path), "--quiet"]) == 0
    assert PacedPlugin.seen_options["steady"] is False
    assert main(["run", "--graph", str(path), "--quiet", "--realtime"]) == 0
    assert PacedPlugin.seen_options["steady"] is True


def test_a_pace_option_that_is_not_a_bool_option_is_refused():
    class BadPace(PacedPlugin):
        pace_option = "frames"

    with pytest.raises(ContractError, match="pace_option 'frames' must name a bool option"):
        registry.register("t_bad_pace", BadPace)


class EncodingPlugin(Node):
    """A plugin encoding sink: --fps, the live timing and the sound reach it through its Encoding."""

    inputs = {"frame": Frame}
    seen: dict = {}

    @dataclass(frozen=True)
    class Options:
        rate: float = 0.0
        clock: str = "media"
        sound: str = ""

    encoding = Encoding(rate_option="rate", sound_option="sound", live_timing=("clock", "capture"))

    def open(self, ctx):
        EncodingPlugin.seen.update(rate=self.options.rate, clock=self.options.clock, sound=self.options.sound)

    def process(self, ctx):
        pass


registry.register("t_encoding_plugin", EncodingPlugin)


def test_run_sets_fps_and_live_timing_on_any_sink_whose_contract_names_them(tmp_path):
    from portraitflow.cli.main import main
    path = tmp_path / "g.toml"
    path.write_text((GraphSpec().add("capture", "t_paced_plugin").add("output", "t_encoding_plugin")
                     .connect("capture.frame", "output.frame")).to_toml())
    assert main(["run", "--graph", str(path), "--quiet"]) == 0
    assert EncodingPlugin.seen == {"rate": 0.0, "clock": "media", "sound": ""}
    assert main(["run", "--graph", str(path), "--quiet", "--realtime", "--fps", "12.5"]) == 0
    assert EncodingPlugin.seen == {"rate": 12.5, "clock": "capture", "sound": ""}


def test_an_encoding_that_names_no_option_of_the_sink_is_refused():
    class BadEncoding(EncodingPlugin):
        encoding = Encoding(rate_option="fps")

    with pytest.raises(ContractError, match="encoding must name options of a sink, got fps"):
        registry.register("t_bad_encoding", BadEncoding)
