"""Fast guided upsampling: bring a model-resolution mask to frame resolution so its edges follow the image.

Not for: styling the edge (nodes/fringe_styles.py) or graph wiring (nodes/fringe.py).

The "fast guided filter" (He & Sun, 2015): the linear coefficients a, b of q = a * I + b are fitted on a
downscaled grey guide, smoothed, upsampled bilinearly and applied on the full-resolution grey guide
(with b anchored on the mask itself, see coefficients()). The only full-resolution work is the grey, the
grey guide's first 2x area step and one multiply-add; everything else runs on a grid about 320 px wide (a
full-resolution guided filter costs 63 ms at 720p). With the compiled passes (nodes/guide_pass.c) the grey
and its first halving are one pass, the fit on the grid another and the apply a third; without them the
same steps are OpenCV and numpy calls, the same pixels.
"""
from __future__ import annotations

import cv2
import numpy as np

from ..graph.errors import ContractError
from .frame_passes import compiled


def _compiled_grey_is_opencvs() -> bool:
    """Whether the compiled passes' grey (OpenCV 5's 15-bit weights, nodes/guide_pass.c) is this cv2's own
    cvtColor, on colours where OpenCV 4's 14-bit weights round otherwise (0.26% of all colours) and others."""
    if compiled is None:
        return False
    rng = np.random.default_rng(17)
    probe = rng.integers(0, 256, (64, 64, 3), np.uint8)
    probe[0, :4] = ((250, 0, 0), (180, 37, 41), (116, 11, 83), (30, 238, 125))   # where the two weightings differ
    mine = np.empty(probe.shape[:2], np.uint8)
    compiled.grey(probe, mine)
    return bool(np.array_equal(mine, cv2.cvtColor(probe, cv2.COLOR_BGR2GRAY)))


#: the compiled passes, when their grey is cv2.cvtColor's to the bit here (else every grey is cvtColor's)
grey_passes = compiled if _compiled_grey_is_opencvs() else None


def check_frame_and_mask(frame_bgr: np.ndarray, mask: np.ndarray, where: str) -> None:
    """Raise ContractError naming ``where`` when frame or mask do not fit graph/kinds.py."""
    if not isinstance(frame_bgr, np.ndarray) or frame_bgr.dtype != np.uint8 or frame_bgr.ndim != 3 \
            or frame_bgr.shape[2] not in (3, 4):
        got = f"{frame_bgr.dtype} {frame_bgr.shape}" if isinstance(frame_bgr, np.ndarray) \
            else type(frame_bgr).__name__
        raise ContractError(f"{where}: frame must be uint8 HxWx3 BGR (or HxWx4 BGRA), got {got}")
    if not isinstance(mask, np.ndarray) or mask.dtype != np.float32 or mask.ndim != 2:
        got = f"{mask.dtype} {mask.shape}" if isinstance(mask, np.ndarray) else type(mask).__name__
        raise ContractError(f"{where}: mask must be float32 HxW in [0, 1], got {got}")
    if mask.shape[0] < 2 or mask.shape[1] < 2:
        raise ContractError(f"{where}: mask must be at least 2x2, got {mask.shape}")


#: "grey": one luma guide (cheapest); "colour": the 3-channel guided filter (He et al.), which also
#: separates person and background of equal brightness but different hue (a red top on a grey wall)
GUIDES = ("grey", "colour")


class GuidedUpsampler:
    """Reusable fast guided upsampler; keeps its full-resolution scratch buffers between frames.

    radius: box radius on the low-resolution grid (low-res px). eps: regularisation on a guide in [0, 1]
    (larger = smoother, follows the mask more than the image). guide_long_side: the low-res grid's longer
    side in px (the grid is never finer than the frame).
    Not thread-safe: one instance per node.
    """

    def __init__(self, radius: int = 2, eps: float = 1e-3, guide_long_side: int = 320,
                 guide: str = "grey"):
        if radius < 1:
            raise ValueError(f"radius must be >= 1, got {radius}")
        if eps <= 0:
            raise ValueError(f"eps must be > 0, got {eps}")
        if guide not in GUIDES:
            raise ValueError(f"guide must be one of {', '.join(GUIDES)}, got {guide!r}")
        self.radius = int(radius)
        self.eps = float(eps)
        self.guide_long_side = int(guide_long_side)
        self.guide = guide
        self._grey: np.ndarray | None = None
        self._half: np.ndarray | None = None
        self._grid: np.ndarray | None = None      # p, a and b on the grid (the compiled fit's)
        self._grown: np.ndarray | None = None     # a and b grown across to the frame's width
        self._a_full: np.ndarray | None = None

    def low_size(self, frame_h: int, frame_w: int) -> tuple[int, int]:
        """(width, height) of the grid the coefficients are fitted on."""
        scale = min(1.0, self.guide_long_side / max(frame_h, frame_w))
        return max(2, round(frame_w * scale)), max(2, round(frame_h * scale))

    def full_grey(self, frame_bgr: np.ndarray) -> np.ndarray:
        """The frame's grey at full size (cv2.cvtColor), in this upsampler's reused buffer."""
        h, w = frame_bgr.shape[:2]
        if self._grey is None or self._grey.shape != (h, w):
            self._grey = np.empty((h, w), np.uint8)
        code = cv2.COLOR_BGR2GRAY if frame_bgr.shape[2] == 3 else cv2.COLOR_BGRA2GRAY
        return cv2.cvtColor(frame_bgr, code, dst=self._grey)

    def low_grey(self, frame_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(the uint8 grey guide on the low-res grid, the frame's full-size grey, cv2.cvtColor's).

        shrink_to(full_grey(frame)), its first exact 2x area step made with the grey in one compiled pass
        where there is one (nodes/guide_pass.c's grey_halve, the same pixels), which writes the full-size grey
        for the apply on the way: cvtColor's own pass and the halving's are gone (0.28 -> 0.16-0.23 ms at 720p
        in the chain). Not the apply making the grey again from the frame instead (guided_apply can): that
        writes no full-size grey but reads the frame's 3 bytes a pixel twice, and made the fringe 0.1-0.2 ms
        slower in the chain (bench/hotspots.py, blur). A frame whose first step is no exact halving (641x361,
        854x480 to a 320-wide grid) takes cvtColor's grey and cv2's general INTER_AREA, as before."""
        h, w = frame_bgr.shape[:2]
        size = self.low_size(h, w)
        if grey_passes is not None and halves_first(h, w, size):
            if self._half is None or self._half.shape != (h // 2, w // 2):
                self._half = np.empty((h // 2, w // 2), np.uint8)
            if self._grey is None or self._grey.shape != (h, w):
                self._grey = np.empty((h, w), np.uint8)
            grey_passes.grey_halve(frame_bgr, self._half, self._grey)
            return shrink_to(self._half, size), self._grey
        grey = self.full_grey(frame_bgr)
        return shrink_to(grey, size), grey

    def coefficients(self, frame_bgr: np.ndarray,
                     mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Low-res (a, b, guide in [0, 1]) with a already scaled for a uint8 guide: q = a * grey_u8 + b."""
        mean_a, b, low, _ = self._fit(frame_bgr, mask)
        # copies: the compiled path's a and b are this upsampler's buffers, which the next frame overwrites
        return mean_a.copy(), b.copy(), low.astype(np.float32) * np.float32(1.0 / 255.0)

    def _fit(self, frame_bgr: np.ndarray,
             mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(a, b, the uint8 low-res guide, the frame's full-size grey made on the way)."""
        low, full = self.low_grey(frame_bgr)
        lh, lw = low.shape
        if compiled is not None:
            # the box means, products and the a / b algebra below in one compiled pass over the grid (0.27 ->
            # 0.17 ms at 720p, and none of numpy's grid-size temporaries: each is fresh pages, 0.1 ms more in
            # all): the same numbers at radius 1 and 2, within 2e-7 at others (nodes/guide_pass.c's guided_fit).
            # p, a and b in this upsampler's buffers, for the same reason
            if self._grid is None or self._grid.shape[1:] != (lh, lw):
                self._grid = np.empty((3, lh, lw), np.float32)
            p, mean_a, b = self._grid
            cv2.resize(mask, (lw, lh), dst=p, interpolation=cv2.INTER_LINEAR)
            compiled.guided_fit(low, p, self.radius, self.eps, mean_a, b)
            return mean_a, b, low, full
        p = cv2.resize(mask, (lw, lh), interpolation=cv2.INTER_LINEAR)
        guide = low.astype(np.float32)
        guide *= np.float32(1.0 / 255.0)
        ksize = (2 * self.radius + 1, 2 * self.radius + 1)

        def box(x: np.ndarray) -> np.ndarray:
            return cv2.boxFilter(x, cv2.CV_32F, ksize, borderType=cv2.BORDER_REFLECT)

        mean_i = box(guide)
        mean_p = box(p)
        cov_ip = box(guide * p) - mean_i * mean_p
        var_i = box(guide * guide) - mean_i * mean_i
        a = cov_ip / (var_i + np.float32(self.eps))
        mean_a = box(a)
        # He's filter uses b = box(mean_p - a * mean_i), which blurs the model's own edge twice wherever
        # the grey guide has no edge (equal-grey person and background); anchoring b on p itself keeps
        # the model's edge there and adds the guide's edges on top: q = p + a * (I - mean_I).
        # Measured on composites with a known truth: boundary F 0.96 -> 0.97 (512 px), 0.84 -> 0.84 (720p)
        # where He's form lost ground (0.92, 0.75).
        b = p - mean_a * mean_i
        mean_a *= np.float32(1.0 / 255.0)
        return mean_a, b, low, full

    def colour_result(self, frame_bgr: np.ndarray,
                      mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Low-res (a: HxWx3, b: HxW, guide: HxWx3 in [0, 1]) of the 3-channel guided filter.

        Per grid pixel, a = (Sigma + eps U)^-1 cov(I, p) with Sigma the guide's 3x3 colour covariance
        in the box; the 3x3 inverses are done in closed form (adjugate), vectorised over the grid.
        b is anchored on p as in coefficients(): q = p + mean_a . (I - mean_I).
        """
        h, w = frame_bgr.shape[:2]
        lw, lh = self.low_size(h, w)
        guide = shrink_to(frame_bgr[..., :3], (lw, lh)).astype(np.float32)
        guide *= np.float32(1.0 / 255.0)
        p = cv2.resize(mask, (lw, lh), interpolation=cv2.INTER_LINEAR)
        ksize = (2 * self.radius + 1, 2 * self.radius + 1)

        def box(x: np.ndarray) -> np.ndarray:
            return cv2.boxFilter(x, cv2.CV_32F, ksize, borderType=cv2.BORDER_REFLECT)

        mean_i = box(guide)                                   # lh x lw x 3
        mean_p = box(p)
        cov_ip = box(guide * p[..., None]) - mean_i * mean_p[..., None]
        # the six distinct entries of the symmetric covariance, each lh x lw
        eps = np.float32(self.eps)
        ch = [guide[..., i] for i in range(3)]
        mi = [mean_i[..., i] for i in range(3)]
        s00 = box(ch[0] * ch[0]) - mi[0] * mi[0] + eps
        s01 = box(ch[0] * ch[1]) - mi[0] * mi[1]
        s02 = box(ch[0] * ch[2]) - mi[0] * mi[2]
        s11 = box(ch[1] * ch[1]) - mi[1] * mi[1] + eps
        s12 = box(ch[1] * ch[2]) - mi[1] * mi[2]
        s22 = box(ch[2] * ch[2]) - mi[2] * mi[2] + eps
        i00 = s11 * s22 - s12 * s12
        i01 = s02 * s12 - s01 * s22
        i02 = s01 * s12 - s02 * s11
        i11 = s00 * s22 - s02 * s02
        i12 = s01 * s02 - s00 * s12
        i22 = s00 * s11 - s01 * s01
        det = s00 * i00 + s01 * i01 + s02 * i02
        c0, c1, c2 = cov_ip[..., 0], cov_ip[..., 1], cov_ip[..., 2]
        inv_det = np.float32(1.0) / det
        a0 = (i00 * c0 + i01 * c1 + i02 * c2) * inv_det
        a1 = (i01 * c0 + i11 * c1 + i12 * c2) * inv_det
        a2 = (i02 * c0 + i12 * c1 + i22 * c2) * inv_det
        a0, a1, a2 = box(a0), box(a1), box(a2)
        b = p - a0 * mi[0] - a1 * mi[1] - a2 * mi[2]
        return cv2.merge((a0, a1, a2)), b, guide

    def _colour_upsample(self, frame_bgr: np.ndarray, mask: np.ndarray, out: np.ndarray | None) -> np.ndarray:
        a, b, _ = self.colour_result(frame_bgr, mask)
        h, w = frame_bgr.shape[:2]
        # applied at full resolution (a bilinear upsample of the grid's result instead: BF -0.01)
        a_full = cv2.resize(a, (w, h), interpolation=cv2.INTER_LINEAR)
        a_full *= np.float32(1.0 / 255.0)
        cv2.multiply(a_full, frame_bgr[..., :3], dst=a_full, dtype=cv2.CV_32F)
        q = cv2.transform(a_full, np.ones((1, 3), np.float32), dst=out)
        q += cv2.resize(b, (w, h), interpolation=cv2.INTER_LINEAR)
        np.clip(q, 0.0, 1.0, out=q)
        return q

    def __call__(self, frame_bgr: np.ndarray, mask: np.ndarray, out: np.ndarray | None = None,
                 blur_taps: np.ndarray | None = None) -> np.ndarray:
        """The mask at frame resolution, float32 in [0, 1]. ``out`` (float32 HxW) is written if given.
        ``blur_taps`` (a 1-D Gaussian, cv2.getGaussianKernel): the result blurred by it across and down, ends
        replicated (cv2.GaussianBlur's pixels within 1e-6), in the compiled pass when there is one."""
        if blur_taps is not None and (compiled is None or self.guide == "colour"):
            out = self(frame_bgr, mask, out)
            return cv2.sepFilter2D(out, -1, blur_taps, blur_taps, dst=out, borderType=cv2.BORDER_REPLICATE)
        if self.guide == "colour":
            return self._colour_upsample(frame_bgr, mask, out)
        mean_a, mean_b, _, grey = self._fit(frame_bgr, mask)
        h, w = frame_bgr.shape[:2]
        if out is None:
            out = np.empty((h, w), np.float32)
        if compiled is not None:
            # a and b grown across only (a grid's few rows); their rows, a * I + b and the clip in one pass
            # (within 2e-6 of the calls below)
            rows = mean_a.shape[0]
            if self._grown is None or self._grown.shape[1:] != (rows, w):
                self._grown = np.empty((2, rows, w), np.float32)   # reused: fresh pages cost 0.1 ms a frame
            a_rows, b_rows = self._grown
            cv2.resize(mean_a, (w, rows), dst=a_rows, interpolation=cv2.INTER_LINEAR)
            cv2.resize(mean_b, (w, rows), dst=b_rows, interpolation=cv2.INTER_LINEAR)
            compiled.guided_apply(a_rows, b_rows, grey, out, blur_taps)
            return out
        # b grown straight into the result and a * I made in a's own buffer: one frame-size float buffer
        # fewer than a separate b, the same pixels (a's buffer only on this path: the compiled one needs none)
        if self._a_full is None or self._a_full.shape != (h, w):
            self._a_full = np.empty((h, w), np.float32)
        cv2.resize(mean_b, (w, h), dst=out, interpolation=cv2.INTER_LINEAR)
        cv2.resize(mean_a, (w, h), dst=self._a_full, interpolation=cv2.INTER_LINEAR)
        cv2.multiply(self._a_full, grey, dst=self._a_full, dtype=cv2.CV_32F)
        cv2.add(out, self._a_full, dst=out)
        np.clip(out, 0.0, 1.0, out=out)
        return out


def bilinear_upsample(mask: np.ndarray, frame_h: int, frame_w: int) -> np.ndarray:
    """The raw baseline: the model's mask stretched to the frame with bilinear interpolation."""
    return cv2.resize(mask, (frame_w, frame_h), interpolation=cv2.INTER_LINEAR)


def halves_first(height: int, width: int, size: tuple[int, int]) -> bool:
    """Whether shrink_to(image of height x width, size)'s first step is an exact 2x area average."""
    return (width >= 4 * size[0] and height >= 4 * size[1]) \
        or (width % 2 == 0 and height % 2 == 0 and (width // 2, height // 2) == tuple(size))


def shrink_to(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Area-average ``image`` to ``size`` (w, h) cheaply: exact 2x area steps, then one area resize of
    a frame at most twice the target (a general-ratio INTER_AREA on a 720p frame costs ms)."""
    while image.shape[1] >= 4 * size[0] and image.shape[0] >= 4 * size[1]:
        h, w = image.shape[:2]
        image = cv2.resize(image[:h - h % 2, :w - w % 2], (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
