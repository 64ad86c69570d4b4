"""The chain's last full-resolution steps as single passes over the frame, compiled (nodes/frame_passes.c,
nodes/*_pass.c, nodes/looks/*_pass.c, built by pip with the package when a C
compiler is there), or None where they are not: every caller keeps its OpenCV calls as the path without them.
The blend, the mix and the looks' passes (nodes/looks/*_pass.c) give the OpenCV calls' pixels exactly, the
blend's bottom grown from a small grid included (bit for bit cv2.resize's); the frame's shared small copy
(nodes/shrink_pass.c) is the two cv2.resize calls' array; the guided apply within 1e-4 of cv2.resize's grown
coefficients, its feather within 1e-6 of cv2.GaussianBlur; the guided filter's grey and its 2x area average
are cv2.cvtColor's and INTER_AREA's to the bit, its fit on the small grid numpy's and cv2.boxFilter's (to the
bit at radius 1 and 2, within 2e-7 beyond).
The models' input tensor (nodes/model_input_pass.c): bit for bit models/segmenter.py's OpenCV path's.

Not for: deciding what to blend or where (the looks, nodes/looks/box_blend.py) or anything at the mask's
resolution, where OpenCV's calls are already cheap (but for the guided filter's fit and the smooth node's
step after its flow, nodes/smooth_pass.c: a dozen numpy and OpenCV calls on a grid, each with a fresh
grid-size result, cost more than their arithmetic).
PORTRAITFLOW_COMPILED=0 in the environment turns the compiled passes off (benches compare the two paths;
tests check that both give the same pixels).
"""
from __future__ import annotations

import os
from types import ModuleType

#: the environment variable that turns the compiled passes off ("0")
SWITCH = "PORTRAITFLOW_COMPILED"


def _load() -> ModuleType | None:
    if os.environ.get(SWITCH, "1") == "0":
        return None
    try:
        from . import _frame_passes
    except ImportError:      # built without a C compiler: the OpenCV path
        return None
    return _frame_passes


#: the compiled module (every pass of nodes/frame_passes.c and nodes/looks/*_pass.c; see their docstrings),
#: or None
compiled: ModuleType | None = _load()
