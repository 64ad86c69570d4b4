"""Carrying the gate from frame to frame: when the last gate model's mask may gate this frame's primary
mask, and the small growth that lets it follow the person's moving edge.

Not for: running the models or making a gate (nodes/segment.py, nodes/mask_gating.py).

Why: the gate (the square selfie model, ~2 ms a 720p frame) only takes out background patches the
primary model alone calls person; dilated and blurred it is ~1 over the person and ~0 far from them.
So a fresh gate can differ from the last one, where it changes the output, only
- where the person now reaches past the old gate (an arm, a step aside): the old gate cuts them;
- where the whole scene changed (a cut).
Elsewhere a fresh gate is the gate model's answer again: ~1 inside the person, and over a patch it cuts
or half cuts, one more sample of the same uncertain answer. The old rule (refresh when the primary
changed on > 1 % of its pixels) ran the gate model on 70 % of the moving sample's frames: the primary
flickers on the sample's helmet and every edge moves with the camera, and neither asks for a new gate.

What a carried gate does:
- it opens where the primary rose (by more than ``RISE_FLOOR``) within ``REACH_PX`` of where the old
  gate was surely open (>= ``OPEN``): the person's moving edge is not cut, a far patch gains nothing;
- the gate model runs again when the carried gate still cuts pixels the primary now calls person
  (> ``PERSON``) that were background (< ``BACKGROUND``) when it was made, on more than
  ``tolerance`` / ``NEW_CUT_DIVISOR`` of the mask's pixels: the person moved past its reach, or a new
  patch appeared that only a fresh gate can judge;
- or when it cuts more than ``tolerance`` of the person's mass beyond what the fresh gate cut;
- or when more than ``SCENE_CHANGE`` of the mask's pixels changed (by > ``MASK_CHANGE``): a new scene.
How long a gate is carried is earned: each fresh gate measures how far the one before it had drifted
(MAD of the gated mask). In a new scene the gate model runs on two frames in a row, then gates are
carried 1, 3, then up to gate_every - 1 frames while fresh ones keep agreeing (< ``STABLE``), and half as
long again after one disagreed (> ``UNSTABLE``): where the gate model flips on a patch (a cup beside
the person, a cluttered shelf), a wrong gate is not held for 7 frames.
Two ways to carry (``follow``), because carrying through motion is not free:
- "fit" (the default): carried only while the person's mask barely changed since the gate was made (on
  fewer than ``tolerance`` of its pixels) and the gate cuts no more of it than then: the gate model runs
  on ~70% of a moving scene's frames and the mask is a fresh gate's (truth MAD unchanged);
- "follow" (what the rest of this docstring describes): carried through motion, the gate model on ~1/4
  of a moving scene's frames (-1.2 ms a 720p frame on one core), at a small cost on truth (MAD +0.4% at
  1-2 px a frame and on moving portraits; lag at 1 px a frame 0.50 -> 0.30 frames). The segment node
  follows when a CPU budget is set (its first saving, before any frame goes unsegmented).
Measured: bench/quality.py ("moving portraits": truth; "gate carry": the sample and dev clips). Tried and dropped: shifting the old gate by the mask's translation (moment centroids,
phase correlation: the masks change shape more than they slide, it brought no frame closer to a fresh
gate); refreshing on changes under the open gate, and carrying the minimum of the last two gates (each
cost gate runs or truth MAD).
"""
from __future__ import annotations

import cv2
import numpy as np

#: a model-resolution pixel counts as changed past this difference in person probability
MASK_CHANGE = 0.25
#: how far (primary-model px) from where the old gate was surely open a carried gate follows the person
REACH_PX = 2
#: a gate at least this open is the person's: the reach grows from there, not from a patch it half cuts
OPEN = 0.95
#: a rise of the primary below this is noise and opens nothing; 1 / RISE_GAIN above it opens fully
RISE_FLOOR, RISE_GAIN = 0.05, 4.0
#: person / background probability of a pixel the person newly reached
PERSON, BACKGROUND = 0.75, 0.25
#: the share of the mask's pixels newly reached and cut that refreshes the gate: tolerance / this
NEW_CUT_DIVISOR = 20.0
#: the share of the mask's pixels that may change before the scene counts as new
SCENE_CHANGE = 0.2
#: each fresh gate says how far the carried one had drifted (MAD of the gated mask, thousandths): past
#: UNSTABLE the gate model is unsure of this scene (it flips on a patch) and gates are carried half as
#: long; below STABLE one frame longer again, up to gate_every
UNSTABLE, STABLE = 20.0, 10.0


def cut_share(mask: np.ndarray, gated: np.ndarray) -> float:
    """The share of the mask's person that gating took away (0 = the gate kept all of it)."""
    total = float(cv2.sumElems(mask)[0])
    return 0.0 if total <= 0.0 else 1.0 - float(cv2.sumElems(gated)[0]) / total


def changed_share(mask: np.ndarray, reference: np.ndarray) -> float:
    """The share of pixels whose probability differs by more than MASK_CHANGE."""
    return np.count_nonzero(cv2.absdiff(mask, reference) > MASK_CHANGE) / mask.size


class GateCarry:
    """The last fresh gate on the primary's grid, the primary mask it was made for and the share of it
    that gate cut; ``carried(key, primary)`` is this frame's primary gated by the carried gate, or None
    when the gate model must run again (see the module docstring). One per segmenter; not thread-safe.

    tolerance: the share of the person's mass a carried gate may cut beyond what the fresh gate cut
    (and, divided by NEW_CUT_DIVISOR, the share of the mask's pixels newly reached by the person that
    it may cut). longest: the most frames a gate is carried (the segmenter's gate_every - 1).
    reach_px: see REACH_PX (0: a carried gate never grows). follow: carry through motion (see above);
    False: only while the mask barely changed.
    """

    def __init__(self, tolerance: float, longest: int, reach_px: int = REACH_PX, follow: bool = False):
        self.tolerance = tolerance
        self.follow = follow                     # carried through motion, or only while the mask fits
        self.longest = longest                   # the most frames a gate is carried (gate_every - 1)
        self.limit = 0                           # the most frames it is carried in this scene now
        self._new_scene = False
        self.drift = 0.0                         # the last carried gate against the fresh one after it
        self.key: object = None                  # what the gate was made for (gate model, frame size)
        self.frames_since = 0                    # frames gated by the carried gate since it was made
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach_px + 1,) * 2) \
            if reach_px else None
        self._gate: np.ndarray | None = None     # the fresh gate on the primary's grid (read-only)
        self._reach: np.ndarray | None = None    # 1 where a carried gate may open, else 0
        self._primary: np.ndarray | None = None  # the primary mask the gate was made for
        self._cut = 0.0

    def made(self, key: object, gate: np.ndarray, primary: np.ndarray, gated: np.ndarray) -> None:
        """A fresh gate (on the primary's grid) was made for ``primary``; ``gated`` = primary * gate."""
        if not self.follow:   # carried for as long as it fits, up to the longest
            self.limit = self.longest
        elif key == self.key and self._gate is not None and self._gate.shape == gate.shape and not self._new_scene:
            # how far the old gate was from this fresh one, where the primary sees the person
            self.drift = 1000.0 * cv2.norm(cv2.multiply(primary, cv2.absdiff(self._gate, gate)),
                                           cv2.NORM_L1) / primary.size
            if self.drift > UNSTABLE:
                self.limit //= 2
            elif self.drift < STABLE:
                self.limit = min(self.longest, 2 * self.limit + 1)
        else:   # a new scene: gates are carried once fresh ones have agreed (1, then 3, then 7 frames)
            self.limit, self.drift = 0, 0.0
        self._new_scene = False
        self.key, self._gate, self._primary = key, gate, primary
        self._reach = None if self._kernel is None or not self.follow else cv2.dilate(
            (gate >= OPEN).view(np.uint8), self._kernel, borderType=cv2.BORDER_REPLICATE).astype(np.float32)
        self._cut = cut_share(primary, gated)
        self.frames_since = 0

    def carried(self, key: object, primary: np.ndarray) -> np.ndarray | None:
        """``primary`` gated by the carried gate (a new array, and one more frame counted in
        ``frames_since``), or None when it no longer fits."""
        before = self._primary
        if self.frames_since >= self.limit or key != self.key or before is None or before.shape != primary.shape:
            return None
        if self.follow:
            gate = self._followed(primary, before)
            if gate is None:
                return None
        elif changed_share(primary, before) > self.tolerance:   # "fit": only while the mask barely changed
            return None
        else:
            gate = self._gate
        gated = cv2.multiply(primary, gate)
        if cut_share(primary, gated) > self._cut + self.tolerance:   # it cuts more of the person than fresh
            return None
        self.frames_since += 1
        return gated

    def _followed(self, primary: np.ndarray, before: np.ndarray) -> np.ndarray | None:
        """The gate carried through motion to ``primary``, or None when the scene changed or the person
        reached past it."""
        if changed_share(primary, before) > SCENE_CHANGE:
            self._new_scene = True
            return None
        gate = self._gate
        if self._reach is not None:   # open where the person's mask rose near the old gate
            rise = cv2.subtract(primary, before)
            rise = cv2.addWeighted(rise, RISE_GAIN, rise, 0.0, -RISE_FLOOR * RISE_GAIN)
            gate = cv2.max(gate, cv2.min(self._reach, cv2.max(rise, 0.0)))
        newly_cut = (primary > PERSON) & (gate < 0.5) & (before < BACKGROUND)
        if np.count_nonzero(newly_cut) > self.tolerance / NEW_CUT_DIVISOR * primary.size:
            return None
        return gate
