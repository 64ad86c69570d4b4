"""Backgrounds and textures that recipes name: procedural defaults (gradients, grain, paper, wall,
landscape and city silhouettes), a solid colour, or any user image by path.

Not for: compositing (nodes/looks/ do that). Everything is generated from a fixed seed, so a recipe
renders the same picture every time; nothing is downloaded.
An asset reference is one string: ``"procedural:NAME"`` (see PROCEDURAL), ``"#rrggbb"``, or a path.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from ...graph.errors import ConfigError


def parse_colour(text: str, *, field: str = "colour") -> tuple[int, int, int]:
    """'#rrggbb' -> (b, g, r), the graph's channel order."""
    value = text.strip()
    if not (value.startswith("#") and len(value) == 7):
        raise ConfigError(f"expected a colour '#rrggbb', got {text!r}", field=field)
    try:
        r, g, b = (int(value[i:i + 2], 16) for i in (1, 3, 5))
    except ValueError:
        raise ConfigError(f"expected a colour '#rrggbb', got {text!r}", field=field) from None
    return b, g, r


def value_noise(height: int, width: int, *, cell: int, seed: int) -> np.ndarray:
    """Smooth noise in [0, 1], float32: random values on a coarse grid, upsampled bicubically."""
    rng = np.random.default_rng(seed)
    grid = rng.random((height // cell + 3, width // cell + 3), dtype=np.float32)
    big = cv2.resize(grid, ((width // cell + 3) * cell, (height // cell + 3) * cell),
                     interpolation=cv2.INTER_CUBIC)
    return np.clip(big[cell:cell + height, cell:cell + width], 0.0, 1.0)


def fractal_noise(height: int, width: int, *, seed: int, octaves: int = 5,
                  base_cell: int = 128) -> np.ndarray:
    """Several octaves of value noise (coarse shapes plus fine grain), float32 in [0, 1]."""
    total = np.zeros((height, width), np.float32)
    weight_sum = 0.0
    for octave in range(octaves):
        cell = max(1, base_cell >> octave)
        weight = 0.55 ** octave
        total += weight * value_noise(height, width, cell=cell, seed=seed + octave)
        weight_sum += weight
    total /= weight_sum
    lo, hi = np.percentile(total, (1, 99))
    return np.clip((total - lo) / max(hi - lo, 1e-6), 0.0, 1.0)


def grain(height: int, width: int, *, seed: int = 7) -> np.ndarray:
    """Fine film/paper grain: float32 noise with mean 0 and std about 1."""
    rng = np.random.default_rng(seed)
    fine = rng.standard_normal((height, width), dtype=np.float32)
    return cv2.GaussianBlur(fine, (0, 0), 0.7) * 1.6


def vertical_gradient(height: int, width: int, top_bgr: tuple[int, int, int],
                      bottom_bgr: tuple[int, int, int]) -> np.ndarray:
    """A top-to-bottom gradient, uint8 BGR."""
    t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    top = np.asarray(top_bgr, np.float32)[None, None, :]
    bottom = np.asarray(bottom_bgr, np.float32)[None, None, :]
    column = top + (bottom - top) * t
    return np.ascontiguousarray(np.broadcast_to(column, (height, width, 3))).round().astype(np.uint8)


def _mix(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    return a + (b - a) * t[..., None]


def paper(height: int, width: int) -> np.ndarray:
    """Warm off-white paper with soft fibres and grain (double exposure's light ground)."""
    base = np.asarray(parse_colour("#efe9df"), np.float32)
    clouds = fractal_noise(height, width, seed=11, base_cell=96) - 0.5
    image = base[None, None, :] + (clouds * 14.0 + grain(height, width, seed=12) * 3.0)[..., None]
    return np.clip(image, 0, 255).astype(np.uint8)


def wall(height: int, width: int) -> np.ndarray:
    """Weathered concrete: blotches, pits and grain in warm greys (stencil art's ground)."""
    blotches = fractal_noise(height, width, seed=21, base_cell=160)
    stains = fractal_noise(height, width, seed=22, base_cell=40)
    rng = np.random.default_rng(23)
    pits = (rng.random((height, width), dtype=np.float32) > 0.995).astype(np.float32)
    pits = cv2.GaussianBlur(pits, (0, 0), 0.8) * 3.0
    light = np.asarray(parse_colour("#cfc8bd"), np.float32)
    dark = np.asarray(parse_colour("#8f877c"), np.float32)
    t = np.clip(0.25 + 0.55 * blotches + 0.25 * (stains - 0.5), 0.0, 1.0)
    image = _mix(light, dark, t) + (grain(height, width, seed=24) * 6.0 - pits * 40.0)[..., None]
    return np.clip(image, 0, 255).astype(np.uint8)


def _ridge(width: int, *, seed: int, base: float, amplitude: float, roughness: float,
           octaves: int = 6, base_freq: float = 2.0) -> np.ndarray:
    """A mountain ridge line: heights (fraction of the image height from the top) per column."""
    x = np.linspace(0.0, 1.0, width, dtype=np.float32)
    rng = np.random.default_rng(seed)
    line = np.full(width, base, np.float32)
    for octave in range(octaves):
        freq = base_freq * (2.1 ** octave)
        phase = rng.random() * 2 * np.pi
        line += amplitude * (roughness ** octave) * np.sin(2 * np.pi * freq * x + phase).astype(np.float32)
    return line


def _fir_line(height: int, width: int, *, seed: int, ground: np.ndarray, tree_height: float,
              tree_width: float) -> np.ndarray:
    """Coverage (float32 HxW in [0, 1]) of a stand of firs growing on the ``ground`` line (row per
    column, px): each tree a tall narrow cone with drooping tiers, heights varying like a real stand
    (a few tall, many short) so the skyline reads as a forest, not a comb."""
    rng = np.random.default_rng(seed)
    cover = np.zeros((height, width), np.float32)
    x = -tree_width
    while x < width + tree_width:
        w = tree_width * rng.uniform(0.6, 1.4)
        h = tree_height * float(np.clip(rng.lognormal(0.0, 0.28), 0.6, 1.45))
        cx = int(np.clip(x, 0, width - 1))
        foot = float(ground[cx])
        tiers = max(3, int(h / (w * 0.45)))
        points = [(x, foot - h)]
        for tier in range(1, tiers + 1):   # right side down, a notch per tier: branches
            t = tier / tiers
            points += [(x + w * 0.5 * t, foot - h * (1 - t) + h * 0.04), (x + w * 0.5 * t * 0.7, foot - h * (1 - t))]
        points = points[:-1] + [(x + w * 0.5, foot + 2), (x - w * 0.5, foot + 2)]
        for tier in range(tiers, 0, -1):
            t = tier / tiers
            points += [(x - w * 0.5 * t * 0.7, foot - h * (1 - t)), (x - w * 0.5 * t, foot - h * (1 - t) + h * 0.04)]
        cv2.fillPoly(cover, [np.array(points, np.float32).round().astype(np.int32)], 1.0, lineType=cv2.LINE_AA)
        x += w * rng.uniform(0.35, 0.8)
    return cover


def smooth_step_array(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def landscape(height: int, width: int) -> np.ndarray:
    """Misty mountains at dusk: a warm sky with a low sun, three ranges fading into haze, a lake, and
    stands of firs in front at two depths (what double exposure pours into the silhouette). Smooth,
    low-frequency shapes: at portrait scale it must read as a landscape, not as a texture. A tall
    frame gets the centre of a 4:3 scene (trees keep their proportions instead of turning to spikes)."""
    if width < height * 4 // 3:
        scene_width = height * 4 // 3
        x0 = (scene_width - width) // 2
        return np.ascontiguousarray(_landscape_scene(height, scene_width)[:, x0:x0 + width])
    return _landscape_scene(height, width)


def _landscape_scene(height: int, width: int) -> np.ndarray:
    sky = vertical_gradient(height, width, parse_colour("#f6efe4"), parse_colour("#b9c7cc"))
    image = sky.astype(np.float32)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    sun = np.exp(-(((xx - 0.64 * width) / width) ** 2 + ((yy - 0.40 * height) / width) ** 2) / 0.012)
    image = _mix(image, np.asarray(parse_colour("#fff6e6"), np.float32), sun * 0.8)
    rows = np.arange(height, dtype=np.float32)[:, None] / height
    mist = np.asarray(parse_colour("#d3dbdd"), np.float32)
    ranges = [  # (ridge base, amplitude, colour, seed): far, pale ranges first; few octaves = old hills
        (0.40, 0.060, "#9fb0ba", 31), (0.47, 0.050, "#7a8f9c", 32), (0.55, 0.040, "#566b79", 33)]
    for base, amplitude, colour, seed in ranges:
        ridge = _ridge(width, seed=seed, base=base, amplitude=amplitude, roughness=0.42, octaves=4,
                       base_freq=1.1)
        inside = np.clip((rows - ridge[None, :]) * height / 1.5, 0.0, 1.0)
        haze = np.clip((rows - ridge[None, :]) * 5.0, 0.0, 0.7)   # valleys fill with mist
        image = _mix(image, _mix(np.asarray(parse_colour(colour), np.float32), mist, haze), inside)
    # a wooded valley floor below the far ranges, darkening towards the viewer, with a stand of firs
    # in blue haze on it; taller dark firs frame the scene at both sides (none in the middle, where a
    # row of them would print a comb across the figure's chest)
    floor_top = int(height * 0.68)
    t = np.clip((rows - floor_top / height) / 0.32, 0.0, 1.0)[..., None]
    floor = _mix(np.asarray(parse_colour("#7d909c"), np.float32)[None, None, :],
                 np.asarray(parse_colour("#2f3d48"), np.float32)[None, None, :], t[..., 0])
    floor_cover = np.clip((rows - floor_top / height) * height / 2.0, 0.0, 1.0)
    image = _mix(image, np.broadcast_to(floor, image.shape), np.broadcast_to(floor_cover, (height, width)))
    # the far forest as one canopy line of rounded crowns (a smooth curve, not a row of spikes), in haze
    x = np.arange(width, dtype=np.float32)
    rng = np.random.default_rng(41)
    crowns = np.zeros(width, np.float32)
    for octave, (cell, weight) in enumerate(((0.012, 0.5), (0.03, 0.35), (0.09, 0.25))):
        knots = rng.random(int(1.0 / cell) + 3).astype(np.float32)
        crowns += weight * np.interp(x / (cell * width), np.arange(knots.size), knots).astype(np.float32)
    crowns = cv2.GaussianBlur(crowns[None, :], (0, 0), sigmaX=width * 0.003)[0]
    canopy_top = floor_top + 2.0 - height * (0.015 + 0.05 * crowns)
    far = np.clip((rows - canopy_top[None, :] / height) * height / 1.5, 0.0, 1.0)
    far *= np.clip((floor_top / height + 0.06 - rows) * height / 40.0, 0.0, 1.0)   # melts into the floor mist
    image = _mix(image, np.asarray(parse_colour("#5a6e7b"), np.float32), far * 0.85)
    near_ground = np.full(width, height * 1.02, np.float32)
    near = _fir_line(height, width, seed=43, ground=near_ground, tree_height=height * 0.42,
                     tree_width=width * 0.07)
    side = np.abs(np.arange(width, dtype=np.float32) / width - 0.5)
    near *= smooth_step_array((side - 0.30) / 0.06)[None, :]
    image = _mix(image, np.asarray(parse_colour("#1a2630"), np.float32), near)
    return np.clip(image + grain(height, width, seed=42)[..., None] * 2.0, 0, 255).astype(np.uint8)


def city(height: int, width: int) -> np.ndarray:
    """A night skyline: towers with lit windows under a deep gradient sky."""
    image = vertical_gradient(height, width, parse_colour("#0d1b2a"), parse_colour("#e07a5f"))
    image = image.astype(np.float32)
    rng = np.random.default_rng(51)
    for depth, (colour, lo, hi) in enumerate([("#3d405b", 0.35, 0.6), ("#22223b", 0.5, 0.8)]):
        x = -rng.uniform(0, 40)
        while x < width:
            w = width * rng.uniform(0.04, 0.09)
            top = int(height * rng.uniform(lo, hi))
            x0, x1 = int(x), int(x + w)
            image[top:, max(x0, 0):max(x1, 0)] = parse_colour(colour)
            if depth == 1:   # lit windows on the near towers
                for wy in range(top + 8, height, 14):
                    for wx in range(x0 + 5, x1 - 5, 10):
                        if 0 <= wx < width and rng.random() < 0.35:
                            image[wy:wy + 5, wx:wx + 4] = parse_colour("#f2cc8f")
            x += w + rng.uniform(2, 12)
    return np.clip(image, 0, 255).astype(np.uint8)


def studio(height: int, width: int) -> np.ndarray:
    """A photographer's mottled backdrop: a warm glow behind the head falling off to deep teal."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    dist = np.hypot((xx - width * 0.5) / width, (yy - height * 0.38) / height) * 1.6
    glow = np.clip(1.0 - dist, 0.0, 1.0) ** 1.4
    mottle = fractal_noise(height, width, seed=61, base_cell=200)
    inner = np.asarray(parse_colour("#6f8f8a"), np.float32)
    outer = np.asarray(parse_colour("#1b2e33"), np.float32)
    image = _mix(outer, inner, np.clip(glow * 0.9 + (mottle - 0.5) * 0.25, 0.0, 1.0))
    return np.clip(image + grain(height, width, seed=62)[..., None] * 2.5, 0, 255).astype(np.uint8)


def dusk(height: int, width: int) -> np.ndarray:
    """A poster sky: deep indigo at the top through magenta to a hot horizon glow."""
    top, mid, low = (np.asarray(parse_colour(c), np.float32) for c in ("#1d1540", "#7a2e5c", "#f08a4b"))
    t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    upper = _mix(top, mid, np.clip(t / 0.6, 0, 1))
    column = _mix(upper, low, np.clip((t - 0.6) / 0.4, 0, 1))
    image = np.broadcast_to(column, (height, width, 3)).astype(np.float32)
    return np.clip(image + grain(height, width, seed=71)[..., None] * 3.0, 0, 255).astype(np.uint8)


def teal_sky(height: int, width: int) -> np.ndarray:
    """A blockbuster poster sky: deep teal night at the top through steel-blue cloud to a warm amber
    glow low behind the figure (the orange of teal-orange lives in the skin and this glow only)."""
    t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    top, mid = (np.asarray(parse_colour(c), np.float32) for c in ("#06171d", "#1f4a55"))
    column = _mix(top, mid, np.clip(t / 0.75, 0, 1) ** 1.2)
    image = np.broadcast_to(column, (height, width, 3)).astype(np.float32)
    clouds = fractal_noise(height, width, seed=73, base_cell=max(16, width // 5), octaves=4)
    image = image * (0.8 + 0.4 * clouds[..., None])
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    glow = np.exp(-(((xx - 0.5 * width) / (0.55 * width)) ** 2 + ((yy - 0.92 * height) / (0.30 * height)) ** 2))
    image = _mix(image, np.asarray(parse_colour("#d9894a"), np.float32), glow * 0.55)
    return np.clip(image + grain(height, width, seed=74)[..., None] * 3.0, 0, 255).astype(np.uint8)


#: the procedural assets by name: each makes an HxW uint8 BGR image
PROCEDURAL: dict[str, Callable[[int, int], np.ndarray]] = {
    "city": city, "dusk": dusk, "landscape": landscape, "paper": paper, "studio": studio, "teal_sky": teal_sky,
    "wall": wall,
}


def cover(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Like CSS background-size: cover: ``image`` scaled to fill height x width with its aspect kept, the
    overflow cropped equally from both sides (cropped first, so only the part that shows is resampled).
    Image backgrounds and the frames of a video background both go through it."""
    src_h, src_w = image.shape[:2]
    if src_w * height > width * src_h:       # wider than the frame: crop the sides
        crop_w = max(1, round(src_h * width / height))
        x = (src_w - crop_w) // 2
        image = image[:, x:x + crop_w]
    else:                                     # taller: crop top and bottom
        crop_h = max(1, round(src_w * height / width))
        y = (src_h - crop_h) // 2
        image = image[y:y + crop_h]
    shrinking = image.shape[0] > height
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)



@lru_cache(maxsize=16)
def _load(ref: str, height: int, width: int) -> np.ndarray:
    return np.ascontiguousarray(_read(ref, height, width))


def _read(ref: str, height: int, width: int) -> np.ndarray:
    if ref.startswith("procedural:"):
        name = ref.split(":", 1)[1]
        make = PROCEDURAL.get(name)
        if make is None:
            raise ConfigError(f"unknown procedural asset {name!r} (known: {', '.join(sorted(PROCEDURAL))})")
        # generate at a bounded size and scale, so a 4K frame does not cost seconds of noise
        scale = min(1.0, 1280 / max(width, height))
        gh, gw = max(8, round(height * scale)), max(8, round(width * scale))
        image = make(gh, gw)
        return image if (gh, gw) == (height, width) else cv2.resize(image, (width, height))
    if ref.startswith("#"):
        return np.full((height, width, 3), parse_colour(ref), np.uint8)
    path = Path(ref).expanduser()
    if not path.is_file():
        raise ConfigError(f"asset image not found: {str(path)!r} (expected a readable image file, "
                          f"'#rrggbb' or 'procedural:NAME')")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ConfigError(f"asset {str(path)!r} is not an image OpenCV can read")
    return cover(image, height, width)


def load_asset(ref: str, height: int, width: int, *, field: str = "asset") -> np.ndarray:
    """The asset named by ``ref`` as an HxW uint8 BGR image (cached; do not modify it)."""
    if not isinstance(ref, str) or not ref:
        raise ConfigError(f"expected an asset reference string, got {ref!r}", field=field)
    try:
        # C order matters: OpenCV silently copies strided arrays, which cost 3 ms per 720p blend
        image = _load(ref, int(height), int(width))
    except ConfigError as exc:
        raise ConfigError(str(exc), field=field) from None
    image.flags.writeable = False
    return image

