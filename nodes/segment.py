"""Segment the person in each frame: a model-resolution probability mask, person = 1, gated by a
second model so that a background patch only one model took for the person drops out.

Not for: upscaling the mask to frame size (the fringe stage does it once) or smoothing it over time.
in: frame (Frame, BGR or BGRA)   out: mask (Mask, model resolution, e.g. 144x256),
    meta {"model": name, "gated_by": name or None}
example: graph `segment = { type = "segment", model = "auto", threads = 1, gate_every = 8 }` after `downscale`
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from ..graph import Frame, Mask, Node
from ..graph.media_time import media_seconds
from ..graph.options import check_ranges
from ..models.fetch import ensure_model
from ..models.registry import DEFAULT_MODELS, RegisteredModel, choose_model_for_aspect
from ..models.segmenter import Segmenter
from . import frame_passes
from .frame_edge import extend_bottom, harden_borders
from .gate_carry import GateCarry
from .mask_gating import MaskGate
from .segment_rate import SegmentationRate
from .shared_shrink import shrink_twice_then_area

#: gate_model values that are not model names
GATE_AUTO, GATE_NONE = "auto", "none"
#: the longest a gate model's mask is reused, in frames (when it still fits the frame: see FrameSegmenter)
GATE_EVERY = 8
#: share of the person a carried gate may cut beyond what it cut when fresh; "fit": also the share of the
#: mask's pixels that may change, "follow": a twentieth of it, the share newly reached by the person that
#: it may cut (see nodes/gate_carry.py)
GATE_TOLERANCE = 0.01
#: how a gate is carried between runs of the gate model (nodes/gate_carry.py); "auto" in the node's options:
#: "follow" when a CPU budget is set (the cheapest saving, before any frame goes unsegmented), else "fit"
GATE_CARRY_MODES = ("fit", "follow")


def compiled_input_pass(frame, out, layout, color_order, gain, offset) -> None:
    """nodes/model_input_pass.c's model_input as the Segmenter's input pass (the same tensor as its OpenCV
    path, in a fifth of the time). Handed in from here because models/ imports nothing of nodes/, where the
    compiled module lives; looked up on the module at each call, as bench/hotspots.py times it there."""
    frame_passes.compiled.model_input(frame, out, layout, color_order, gain, offset)


class FrameSegmenter:
    """frame -> (gated model-resolution mask, primary model name, gate model name or None).

    model "auto" picks selfie_landscape for frames wider than 4:3 and selfie_general otherwise (per
    frame size). gate_model "auto" gates an "auto" primary with the other default model and leaves an
    explicitly named model ungated (its output stays MediaPipe's); "none" never gates; a model name
    always gates with that model. The gate is carried for up to ``gate_every`` frames while it still
    fits (nodes/gate_carry.py). gate_carry "fit": while the person's mask barely changed since it was
    made and it cuts no more of them (any motion refreshes it: a fresh gate's quality); "follow": through
    motion, following the person's moving edge a few px, refreshed when the person reached past that, it
    cuts more of them than the fresh one did, or the scene changed (a quarter of the gate runs, at a small
    cost on truth). gate_every 1: a fresh gate every frame. frame_edges
    "auto" | "extend" | "keep": see nodes/frame_edge.py ("auto" extends for model "auto"). Models are
    fetched on construction; sessions load lazily, each with the compiled input pass where it is built
    (compiled_input_pass). Not thread-safe: one per node.
    """

    def __init__(self, model: str = "auto", threads: int = 1, gate_model: str = GATE_AUTO,
                 gate_every: int = GATE_EVERY, gate_dilate_px: int = 3, frame_edges: str = "auto",
                 cache_dir: str | None = None, gate_tolerance: float = GATE_TOLERANCE, gate_carry: str = "fit"):
        if gate_carry not in GATE_CARRY_MODES:
            raise ValueError(f"gate_carry must be one of {GATE_CARRY_MODES}, got {gate_carry!r}")
        names = DEFAULT_MODELS if model == "auto" else (model,)
        self.threads = threads
        self.gate_every = gate_every
        self.gate_tolerance = gate_tolerance
        self._auto = model == "auto"
        # "auto": the default chain (model auto) handles frame edges; a named model's mask stays its own
        self.frame_edges = frame_edges == "extend" or (frame_edges == "auto" and self._auto)
        self._models: dict[str, RegisteredModel] = {name: ensure_model(name, cache_dir) for name in names}
        self._gate_name = gate_model
        if gate_model not in (GATE_AUTO, GATE_NONE) and gate_model not in self._models:
            self._models[gate_model] = ensure_model(gate_model, cache_dir)
        self._gate = MaskGate(dilate_px=gate_dilate_px)
        self._segmenters: dict[str, Segmenter] = {}
        self._choice_for_size: dict[tuple[int, int], str] = {}
        # the last gate, carried while it fits ("fit") or through motion ("follow")
        self._carry = GateCarry(gate_tolerance, gate_every - 1, follow=gate_carry == "follow")
        self.gate_runs = 0                                # how often the gate model ran (bench, tests)

    def _primary_name(self, width: int, height: int) -> str:
        if not self._auto:
            return next(iter(self._models))
        name = self._choice_for_size.get((width, height))
        if name is None:
            name = choose_model_for_aspect(width, height, {n: self._models[n] for n in DEFAULT_MODELS})
            self._choice_for_size[(width, height)] = name
        return name

    def gate_name_for(self, primary: str) -> str | None:
        if self._gate_name == GATE_NONE:
            return None
        if self._gate_name == GATE_AUTO:
            if not self._auto:
                return None
            return next(n for n in DEFAULT_MODELS if n != primary)
        return self._gate_name if self._gate_name != primary else None

    def segmenter(self, name: str) -> Segmenter:
        segmenter = self._segmenters.get(name)
        if segmenter is None:  # sessions load lazily: an ungated 16:9 stream never loads the square model
            model = self._models[name]
            input_pass = compiled_input_pass if frame_passes.compiled is not None else None
            segmenter = Segmenter(model.manifest, model.onnx_path, threads=self.threads,
                                  input_pass=input_pass)
            self._segmenters[name] = segmenter
        return segmenter

    def _gate_mask(self, name: str, frame: np.ndarray) -> np.ndarray:
        """The gate model's mask for the whole frame. A frame much wider than the gate model's input
        (16:9 into the square model) is letterboxed rather than squashed: squashed, the square model
        loses most of a 720p body (the sample's astronaut: half the suit under 0.5) and its gate would
        cut the person; letterboxed it is solid. Taller frames are stretched as the model expects
        (pillarboxing a 3:4 portrait into the 16:9 model: 240 dev portraits' MAD 25.5 -> 40.5)."""
        segmenter = self.segmenter(name)
        model_w, model_h = segmenter.size
        h, w = frame.shape[:2]
        if w * model_h <= 1.2 * h * model_w:
            return segmenter(frame)
        inner_h = max(2, round(model_w * h / w))
        # a cheap bilinear step to twice the size, then an exact 2x area average; the smooth node makes
        # the same small frame for its flow, so it is made once (nodes/shared_shrink.py)
        small = shrink_twice_then_area(frame, (model_w, inner_h))
        top = (model_h - inner_h) // 2
        boxed = cv2.copyMakeBorder(small, top, model_h - inner_h - top, 0, 0, cv2.BORDER_CONSTANT, value=0)
        return segmenter(boxed)[top:top + inner_h]

    def __call__(self, frame: np.ndarray) -> tuple[np.ndarray, str, str | None]:
        h, w = frame.shape[:2]
        primary = self._primary_name(w, h)
        mask = self.segmenter(primary)(frame)
        gate_name = self.gate_name_for(primary)
        if self.frame_edges:
            mask = extend_bottom(mask)
        if gate_name is None:
            return (harden_borders(mask, out=mask) if self.frame_edges else mask), primary, None
        carry, key = self._carry, (gate_name, (w, h))
        gated = carry.carried(key, mask)
        if gated is None:
            gate_mask = self._gate_mask(gate_name, frame)
            if self.frame_edges:
                gate_mask = extend_bottom(gate_mask)
            self.gate_runs += 1
            gated = self._gate(mask, gate_mask)
            carry.made(key, self._gate.gate(gate_mask, mask.shape), mask, gated)
        return (harden_borders(gated, out=gated) if self.frame_edges else gated), primary, gate_name


class Segment(Node):
    """Run the segmentation model on every frame (MediaPipe's warp, onnxruntime on the CPU), gated by
    the second default model.

    Options: ``model`` is a registered model's name or "auto" (see FrameSegmenter). ``threads`` is
    onnxruntime's intra-op thread count: 1 leaves the second core to the other stages. ``gate_model``:
    "auto", "none" or a model name; ``gate_every``: the longest the gate model's mask is reused (1 =
    a fresh gate every frame; the square model costs ~2 ms a frame on one core), ``gate_tolerance``:
    how much of the mask may change (and how much more of the person a carried gate may cut than the
    fresh one did) before the gate model runs again at once (a carried gate is counted: gate_reused);
    ``gate_carry``: "fit", "follow" or "auto" (follow under a CPU budget; see FrameSegmenter);
    ``gate_dilate_px``: reach of the gate past the second model's edge, in model px; ``frame_edges``:
    the person solid up to the frame's border ("auto": for model "auto"). Models are fetched into the
    cache in open().
    Adaptive rate (nodes/segment_rate.py): ``still_every`` N > 1 (default 4) segments a still scene only
    every Nth frame (``still_threshold``: grey-level change of a thumbnail pixel that counts as motion);
    ``cpu_budget_percent`` (0 = none) lowers the segmentation rate while the process is over that CPU % of one core;
    ``max_interval`` bounds the gap either way. A frame not segmented still gets a mask: the last one,
    meta ``carried`` "still" or "budget" (the smooth node moves it with its flow); counted as
    segment_skipped_still / segment_skipped_budget beside ``segmented``. Every mask of a still scene,
    segmented or carried, has meta ``scene_still`` True (the fringe node may then reuse its last edge).
    """

    inputs = {"frame": Frame}
    outputs = {"mask": Mask}

    @dataclass(frozen=True)
    class Options:
        model: str = "auto"
        threads: int = 1
        gate_model: str = GATE_AUTO
        gate_every: int = GATE_EVERY
        gate_tolerance: float = GATE_TOLERANCE
        gate_dilate_px: int = 3
        gate_carry: Literal["auto", "fit", "follow"] = "auto"
        frame_edges: Literal["auto", "extend", "keep"] = "auto"
        still_every: int = 4
        still_threshold: float = 6.0
        cpu_budget_percent: float = 0.0
        max_interval: int = 8

        def __post_init__(self):
            if not self.model:
                raise ValueError("model must be a model name or 'auto', got an empty string")
            if not self.gate_model:
                raise ValueError("gate_model must be 'auto', 'none' or a model name, got an empty string")
            check_ranges(self, threads=(1, 64), gate_every=(1, 300), gate_tolerance=(0.0, 1.0),
                         gate_dilate_px=(0, 32),
                         still_every=(1, 300), still_threshold=(0.0, 255.0),
                         cpu_budget_percent=(0.0, 6400.0), max_interval=(1, 300))

    def open(self, ctx) -> None:
        o = self.options
        self._segment = FrameSegmenter(o.model, o.threads, o.gate_model, o.gate_every, o.gate_dilate_px,
                                       o.frame_edges, gate_tolerance=o.gate_tolerance,
                                       gate_carry=self.gate_carry_mode())
        self._rate = SegmentationRate(o.still_every, o.still_threshold, o.cpu_budget_percent, o.max_interval)
        self._rate_active = o.still_every > 1 or o.cpu_budget_percent > 0
        self._last: tuple[tuple[int, ...], np.ndarray, str, str | None] | None = None

    def gate_carry_mode(self) -> str:
        o = self.options
        if o.gate_carry != "auto":
            return o.gate_carry
        return "follow" if o.cpu_budget_percent > 0 else "fit"

    def options_changed(self, ctx) -> None:
        self.open(ctx)   # another model or thread count: models come from the cache, sessions reload lazily

    def process(self, ctx) -> None:
        packet = ctx.inputs["frame"]
        frame = packet.payload
        still: dict = {}   # meta scene_still on every mask of a still scene, segmented or carried
        if self._rate_active:
            media_s = media_seconds(packet.meta)
            media_s = float(media_s) if media_s is not None else packet.capture_ts_ns / 1e9
            last = self._last
            have_mask = last is not None and last[0] == frame.shape
            skipped = self._rate.decide(frame, media_s, have_mask)
            still = {"scene_still": True} if self._rate.still else {}
            if skipped is not None and last is not None:
                ctx.count(f"segment_skipped_{skipped}")
                # a copy: each mask is the receiver's to keep (144x256 float32: microseconds)
                ctx.emit("mask", packet.derive(last[1].copy(), model=last[2], gated_by=last[3], carried=skipped,
                                               **still))
                return
            ctx.count("segmented")
        gate_runs = self._segment.gate_runs
        mask, model, gated_by = self._segment(frame)
        if gated_by is not None and self._segment.gate_runs == gate_runs:
            ctx.count("gate_reused")
        if self._rate_active:
            self._last = (frame.shape, mask, model, gated_by)
        ctx.emit("mask", packet.derive(mask, model=model, gated_by=gated_by, **still))

    def close(self, ctx) -> None:
        self._segment = None
