"""Segment the person in each frame: a model-resolution probability mask, person = 1.

Not for: upscaling the mask to frame size (the fringe stage does it once) or smoothing it over time.
in: frame (Frame, BGR or BGRA)   out: mask (Mask, model resolution, e.g. 144x256), meta {"model": name}
example: graph `segment = { type = "segment", model = "auto", threads = 1 }` after `downscale`
"""
from __future__ import annotations

from dataclasses import dataclass

from ..graph import Frame, Mask, Node
from ..graph.options import check_ranges
from ..models.fetch import ensure_model
from ..models.registry import DEFAULT_MODELS, RegisteredModel, choose_model_for_aspect
from ..models.segmenter import Segmenter


class Segment(Node):
    """Run a segmentation model on every frame (MediaPipe's warp, onnxruntime on the CPU).

    Options: ``model`` is a registered model's name or "auto", which picks selfie_landscape for frames
    wider than 4:3 and selfie_general otherwise (per frame size, so a resized stream still gets the
    right one). ``threads`` is onnxruntime's intra-op thread count: 1 leaves the second core to the
    other stages. The models are fetched into the cache on first use, in open().
    """

    inputs = {"frame": Frame}
    outputs = {"mask": Mask}

    @dataclass(frozen=True)
    class Options:
        model: str = "auto"
        threads: int = 1

        def __post_init__(self):
            if not self.model:
                raise ValueError("model must be a model name or 'auto', got an empty string")
            check_ranges(self, threads=(1, 64))

    def open(self, ctx) -> None:
        names = DEFAULT_MODELS if self.options.model == "auto" else (self.options.model,)
        self._models: dict[str, RegisteredModel] = {name: ensure_model(name) for name in names}
        self._segmenters: dict[str, Segmenter] = {}
        self._choice_for_size: dict[tuple[int, int], str] = {}

    def options_changed(self, ctx) -> None:
        self.open(ctx)   # another model or thread count: models come from the cache, sessions reload lazily

    def _segmenter_for(self, width: int, height: int) -> Segmenter:
        name = self._choice_for_size.get((width, height))
        if name is None:
            name = choose_model_for_aspect(width, height, self._models)
            self._choice_for_size[(width, height)] = name
        segmenter = self._segmenters.get(name)
        if segmenter is None:  # sessions load lazily: a 16:9 stream never loads the square model
            model = self._models[name]
            segmenter = Segmenter(model.manifest, model.onnx_path, threads=self.options.threads)
            self._segmenters[name] = segmenter
        return segmenter

    def process(self, ctx) -> None:
        packet = ctx.inputs["frame"]
        frame = packet.payload
        segmenter = self._segmenter_for(frame.shape[1], frame.shape[0])
        ctx.emit("mask", packet.derive(segmenter(frame), model=segmenter.manifest.name))

    def close(self, ctx) -> None:
        self._segmenters = {}
