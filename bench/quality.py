"""Mask quality and cost figures (issues 4 and 15): IoU, MAD, boundary F on real portraits, flicker and lag
on clips with known motion, ms per 720p frame for the whole default chain on one core.

Not for: tests (nothing is asserted). Run: .venv/bin/python bench/quality.py [--devdata DIR] [--cache-dir DIR]
Uses the real models (fetched into the cache on first use) and the repo's fixtures; --devdata points at a
folder with portraits/images + portraits/masks (person masks 0/255, same stems) and optionally videos/*.mkv
(never copied into the repo). Chains compared:
  raw       MediaPipe's own mask (the conversion is exact), stretched bilinearly to the frame
  before    the default chain as it was: one model, the fringe (grey guided upsampling)
  every     both models on every frame: the model gated by the other default model, frame edges, the
            fringe (the default chain until issue 17)
  after     the default chain now: "every" with its adaptive work, the gate model's mask reused while
            it still fits (segment.gate_every=8, nodes/segment.py) and a still scene segmented on every
            4th frame only (segment.still_every=4, nodes/segment_rate.py), the mask carried by the
            smooth node's flow in between (stills: the same as "every")
  +colour   "after" with the fringe's 3-channel colour guide (an option, off by default)
  every N   "every" segmented on every Nth frame whatever the motion (what --cpu-budget settles on when
            over budget), carried by the flow in between (dev clips only)
The gate alone (segment's output, no smoothing or fringe; issue 17's carried gate, nodes/gate_carry.py):
  moving portraits  dev portraits on the sample source's own camera move (truth warped with them): MAD
            against the truth for a fresh gate every frame and for the carried gate, and the gate model's
            share of frames
  gate carry        the sample and the dev clips: the gate model's share of frames, and the carried gate's
            mask against a fresh gate's every frame (MAD, mean and worst frame); --sheet PNG draws the
            frames where the gate was carried furthest, fresh beside carried
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from portraitflow.evaluation import clips, metrics, truth
from portraitflow.nodes.fringe import EdgeRefiner, FringeOptions
from portraitflow.nodes.guided_upsample import bilinear_upsample
from portraitflow.nodes.segment import GATE_AUTO, GATE_EVERY, GATE_NONE, FrameSegmenter, Segment
from portraitflow.nodes.segment_rate import SegmentationRate
from portraitflow.nodes.smooth import SmoothOptions, TemporalSmoother

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "mediapipe_parity"
#: chain name -> (gate_model, frame_edges, fringe guide or None for raw)
CHAINS = {"raw": (GATE_NONE, "keep", None), "before": (GATE_NONE, "keep", "grey"),
          "every": (GATE_AUTO, "auto", "grey"), "after": (GATE_AUTO, "auto", "grey"),
          "+colour": (GATE_AUTO, "auto", "colour")}
#: (segment.still_every, segment.gate_every) of the chains: the adaptive ones use the node's defaults
ADAPTIVE = (Segment.Options.still_every, GATE_EVERY)
RATES = {"after": ADAPTIVE, "+colour": ADAPTIVE}


class Chain:
    """segment -> (smooth) -> fringe for one chain name; smoothing only for video."""

    def __init__(self, name: str, cache_dir: str | None, smoothing: float | None = None, segment_every: int = 1,
                 photos: bool = False):
        gate, edges, guide = CHAINS[name]
        # photos: every one its own scene (no gate or mask carried from the last photo)
        still_every, gate_every = (1, 1) if photos else RATES.get(name, (1, 1))
        self.segment = FrameSegmenter("auto", threads=1, gate_model=gate, gate_every=gate_every,
                                      frame_edges=edges, cache_dir=cache_dir)
        self.refiner = EdgeRefiner(FringeOptions(guide=guide)) if guide else None
        self.smoother = TemporalSmoother(SmoothOptions(combine_with_previous=smoothing)) \
            if smoothing is not None else None
        self.rate = SegmentationRate(still_every=still_every)
        if segment_every > 1:   # what a CPU budget settles on: every Nth frame segmented, moving or not
            self.rate.budget_interval = self.rate.max_interval = segment_every
            self.rate.still_every, self.rate.still_threshold = 2, -1.0   # decide() runs; nothing is still
        self.frames = self.segmented = 0
        self._last: np.ndarray | None = None

    def model_mask(self, frame: np.ndarray) -> np.ndarray:
        """What segment (with its still_every) and smooth emit for this frame."""
        skipped = self.rate.decide(frame, self.frames / 30.0, self._last is not None) \
            if self.rate.still_every > 1 else None
        self.frames += 1
        if skipped is None:
            self._last = self.segment(frame)[0]
            self.segmented += 1
        if self.smoother is None:
            return self._last
        return self.smoother(self._last, frame, carried=skipped is not None)

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        mask = self.model_mask(frame)
        if self.refiner is None:
            return bilinear_upsample(mask, frame.shape[0], frame.shape[1])
        return self.refiner.refine(frame, mask)


def mad(mask: np.ndarray, true_mask: np.ndarray) -> float:
    """Mean absolute alpha difference, in thousandths (the issue's unit)."""
    return 1000.0 * float(np.abs(np.asarray(mask, np.float32) - true_mask).mean())


def portraits(devdata: Path, cache_dir: str | None) -> None:
    images = sorted((devdata / "portraits" / "images").glob("*.jpg"))
    masks_dir = devdata / "portraits" / "masks"
    print(f"== {len(images)} dev portraits (real photos, hand-made truth): mean over photos ==")
    print(f"{'chain':<9} {'IoU':>7} {'MAD':>7} {'BF@2px':>7} {'worst IoU':>9}")
    names = [name for name in CHAINS if name != "every"]   # stills: "every" is "after"
    chains = {name: Chain(name, cache_dir, photos=True) for name in names}
    scores: dict[str, list[tuple[float, float, float]]] = {name: [] for name in names}
    for path in images:
        image = cv2.imread(str(path))
        true_mask = cv2.imread(str(masks_dir / f"{path.stem}.png"), cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255
        for name, chain in chains.items():
            ours = chain(image)
            scores[name].append((metrics.iou(ours, true_mask), mad(ours, true_mask),
                                 metrics.boundary_f(ours, true_mask)))
    for name, rows in scores.items():
        v = np.array(rows)
        print(f"{name:<9} {v[:, 0].mean():7.4f} {v[:, 1].mean():7.2f} {v[:, 2].mean():7.4f} {v[:, 0].min():9.3f}")
    after, before = np.array(scores["after"]), np.array(scores["before"])   # ("after" = "every" on stills)
    print(f"after vs before: IoU better on {(after[:, 0] > before[:, 0]).sum()}/{len(after)}, "
          f"MAD lower on {(after[:, 1] < before[:, 1]).sum()}/{len(after)}")


def known_motion(cache_dir: str | None, n_frames: int) -> None:
    photo = cv2.imread(str(FIXTURES / "astronaut_in_coffee_1280x720.png"))
    background = cv2.imread(str(FIXTURES / "coffee_noperson_600x400.png"))
    alpha = truth.detailed_truth(np.load(FIXTURES / "astronaut_in_coffee_1280x720.mediapipe_masks.npz")[
        "selfie_segmentation_landscape__full"], wobble_px=0.0)
    still = clips.jittered_still(photo, n_frames=n_frames, seed=5)
    # slow motion too: where the gate model's mask is reused (it still fits) and a still scene carried
    moving = {speed: clips.translating_clip(photo, alpha, background, n_frames=24 if speed < 4 else 16,
                                            velocity_xy=(speed, 0.0))
              for speed in (1.0, 2.0, 4.0, 8.0, 16.0)}
    print("\n== clips with known motion (astronaut_in_coffee 1280x720): flicker of the model-resolution mask on "
          "a jittered still, lag (frames) and MAD against the truth on a person moving N px/frame ==")
    print(f"{'chain':<9} {'smooth':>6} {'flicker':>8} " + " ".join(f"{f'lag@{s:g}':>7} {f'MAD@{s:g}':>7}"
                                                          for s in moving))
    for name in ("raw", "before", "every", "after"):
        for smoothing in ((None,) if name == "raw" else (0.9, 1.0)):
            chain = Chain(name, cache_dir, smoothing)
            low = [chain.model_mask(f) for f in still.frames]
            flicker = metrics.temporal_flicker(low, still.offsets_at(low[0].shape[1], low[0].shape[0]))
            cells = []
            for clip in moving.values():
                chain = Chain(name, cache_dir, smoothing)
                low = [chain.model_mask(f) for f in clip.frames]
                h, w = low[0].shape
                reference = cv2.resize(alpha, (w, h), interpolation=cv2.INTER_AREA)
                lag = metrics.lag_in_frames(low, reference, clip.offsets_at(w, h))
                full = [chain.refiner.refine(f, m) if chain.refiner else bilinear_upsample(m, *f.shape[:2])
                        for f, m in zip(clip.frames, low)]
                error = float(np.mean([mad(m, t) for m, t in zip(full, clip.truth_masks)]))
                cells.append(f"{lag:7.2f} {error:7.2f}")
            label = "-" if smoothing is None else f"{smoothing:g}"
            share = f"  (last clip: {100 * chain.segmented / chain.frames:.0f}% of frames segmented, gate model " \
                f"on {100 * chain.segment.gate_runs / max(chain.segmented, 1):.0f}% of those)" if name == "after" else ""
            print(f"{name:<9} {label:>6} {flicker:8.5f} " + " ".join(cells) + share)


def dev_videos(devdata: Path, cache_dir: str | None, max_frames: int) -> None:
    import av

    videos = sorted((devdata / "videos").glob("*.mkv"))
    if not videos:
        return
    print(f"\n== {len(videos)} dev clips (real people, no truth), first {max_frames} frames each: mean change of "
          f"the model-resolution mask between frames (lower is steadier; includes real motion) ==")
    every_frame: dict[str, list[np.ndarray]] = {}
    runs = [("raw", None, 1), ("before", 0.9, 1), ("every", 0.9, 1), ("every", 1.0, 1), ("after", 1.0, 1),
            ("every", 0.9, 2), ("every", 0.9, 4), ("every", 0.9, 8)]
    for name, smoothing, every in runs:
        changes, segmented, frames, masks, gate_runs = [], 0, 0, [], 0
        for video in videos:
            chain = Chain(name, cache_dir, smoothing, segment_every=every)
            previous = None
            with av.open(str(video)) as container:
                for index, frame in enumerate(container.decode(video=0)):
                    if index >= max_frames:
                        break
                    mask = chain.model_mask(frame.to_ndarray(format="bgr24"))
                    masks.append(mask)
                    if previous is not None:
                        changes.append(float(np.abs(mask - previous).mean()))
                    previous = mask
            segmented, frames = segmented + chain.segmented, frames + chain.frames
            gate_runs += chain.segment.gate_runs
        if every == 1 and name == "every":
            every_frame[smoothing] = masks
        extra = ""
        if every > 1:
            name = f"every {every}"   # a CPU budget's interval: segmented every Nth frame, carried by the flow
        if name == "after" or every > 1:   # against the same chain with both models on every frame
            diff = [mad(a, b) for a, b in zip(masks, every_frame[smoothing])]
            extra = (f", {100 * segmented / frames:.0f}% of frames segmented (gate model on "
                     f"{100 * gate_runs / frames:.0f}%), MAD vs every frame {np.mean(diff):.2f} "
                     f"(worst frame {np.max(diff):.2f})")
        print(f"{name:<9} smooth {'-' if smoothing is None else smoothing:>4}  frame-to-frame change "
              f"{1000 * np.mean(changes):6.2f} (x1e-3){extra}")


def camera_moved_portrait(photo: np.ndarray, alpha: np.ndarray, n_frames: int) -> tuple[list, list]:
    """A dev portrait (its top square) on the sample source's stage and camera move, with its truth
    warped the same way: (1280x720 frames, truth masks)."""
    from portraitflow.devices.sample_source import HEIGHT, WIDTH, build_stage, camera_move
    side = min(photo.shape[:2])
    stage = build_stage(photo[:side, :side])
    stage_h, stage_w = stage.shape[:2]
    band = (stage_w - stage_h) // 2
    truth_stage = np.zeros((stage_h, stage_w), np.float32)   # the stretched side bands hold no person
    truth_stage[:, band:band + stage_h] = cv2.resize(alpha[:side, :side], (stage_h, stage_h),
                                                     interpolation=cv2.INTER_LINEAR)
    frames, truths = [], []
    for i in range(n_frames):
        matrix = camera_move(i / 30.0, stage_w, stage_h)
        frames.append(cv2.warpAffine(stage, matrix, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR,
                                     borderMode=cv2.BORDER_REFLECT))
        truths.append(cv2.warpAffine(truth_stage, matrix, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR,
                                     borderMode=cv2.BORDER_REFLECT))
    return frames, truths


def moving_portraits(devdata: Path, cache_dir: str | None, count: int, n_frames: int) -> None:
    images = sorted((devdata / "portraits" / "images").glob("*.jpg"))[:count]
    print(f"\n== the gate on a moving camera with truth: {len(images)} dev portraits on the sample's camera move, "
          f"{n_frames} frames each; segment's output (model resolution) against the truth ==")
    print(f"{'':<24} {'MAD fresh':>9} {'MAD carried':>11} {'MAD ungated':>11} {'carried vs fresh':>16} "
          f"{'worst':>6} {'gate runs':>9}")
    totals = np.zeros(5)
    runs_total = frames_total = 0
    for path in images:
        photo = cv2.imread(str(path))
        alpha = cv2.imread(str(devdata / "portraits" / "masks" / f"{path.stem}.png"),
                           cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255
        frames, truths = camera_moved_portrait(photo, alpha, n_frames)
        fresh = FrameSegmenter(gate_every=1, cache_dir=cache_dir)
        carried = FrameSegmenter(cache_dir=cache_dir)
        ungated = FrameSegmenter(gate_model=GATE_NONE, frame_edges="auto", cache_dir=cache_dir)
        rows = []
        for frame, true_mask in zip(frames, truths):
            a, b, c = fresh(frame)[0], carried(frame)[0], ungated(frame)[0]
            small_truth = cv2.resize(true_mask, (a.shape[1], a.shape[0]), interpolation=cv2.INTER_AREA)
            rows.append((mad(a, small_truth), mad(b, small_truth), mad(c, small_truth), mad(a, b)))
        v = np.array(rows)
        share = carried.gate_runs / len(frames)
        runs_total, frames_total = runs_total + carried.gate_runs, frames_total + len(frames)
        totals += [v[:, 0].mean(), v[:, 1].mean(), v[:, 2].mean(), v[:, 3].mean(), v[:, 3].max()]
        print(f"{path.name:<24} {v[:, 0].mean():9.2f} {v[:, 1].mean():11.2f} {v[:, 2].mean():11.2f} "
              f"{v[:, 3].mean():16.2f} {v[:, 3].max():6.2f} {100 * share:8.0f}%")
    t = totals / max(len(images), 1)
    print(f"{'mean over portraits':<24} {t[0]:9.2f} {t[1]:11.2f} {t[2]:11.2f} {t[3]:16.2f} {t[4]:6.2f} "
          f"{100 * runs_total / max(frames_total, 1):8.0f}%")


def gate_carry(devdata: Path | None, cache_dir: str | None, sheet: Path | None) -> None:
    """The gate model's share of frames and the carried gate against a fresh one, per clip."""
    import av

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from chain import make_frames

    clips_to_run: list[tuple[str, list[np.ndarray]]] = [("sample (150 frames)", list(make_frames(150, None)))]
    for video in sorted((devdata / "videos").glob("*.mkv")) if devdata is not None else []:
        with av.open(str(video)) as container:
            clips_to_run.append((video.name, [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]))
    print("\n== the carried gate against a fresh gate every frame (segment's output, model resolution; MAD in "
          "thousandths), and the gate model's share of frames ==")
    print(f"{'clip':<22} {'frames':>6} {'gate runs':>9} {'MAD mean':>8} {'worst':>6} {'longest carry':>13}")
    furthest: list[tuple[int, float, str, np.ndarray, np.ndarray, np.ndarray]] = []
    for name, frames in clips_to_run:
        fresh = FrameSegmenter(gate_every=1, cache_dir=cache_dir)
        carried = FrameSegmenter(cache_dir=cache_dir)
        diffs, longest, candidates = [], 0, []
        for frame in frames:
            a, b = fresh(frame)[0], carried(frame)[0]
            diffs.append(mad(a, b))
            carry = getattr(carried, "_carry", None)   # (main before issue 17's carried gate had none)
            since = carry.frames_since if carry is not None else 0
            longest = max(longest, since)
            if since >= 4:
                candidates.append((since, diffs[-1], name, frame, a, b))
        # the sheet: the frames of this clip where the gate was carried furthest, the largest difference first
        furthest += sorted(candidates, key=lambda row: (-row[0], -row[1]))[:2 if name.startswith("sample") else 1]
        print(f"{name:<22} {len(frames):6} {100 * carried.gate_runs / len(frames):8.0f}% {np.mean(diffs):8.2f} "
              f"{np.max(diffs):6.2f} {longest:13}")
    if sheet is not None and furthest:
        tiles = [_sheet_row(*row) for row in furthest]
        cv2.imwrite(str(sheet), np.vstack(tiles))
        print(f"contact sheet: {sheet} (each row: the frame, fresh gate's mask over it, carried gate's, "
              f"their difference x4; title: clip, frames carried, MAD)")


def _sheet_row(since: int, diff: float, name: str, frame: np.ndarray, fresh: np.ndarray,
               carried: np.ndarray) -> np.ndarray:
    width = 320   # every row as wide (4:3 dev clips and the 16:9 sample on one sheet)
    height = round(frame.shape[0] * width / frame.shape[1])
    small = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)

    def over(mask: np.ndarray) -> np.ndarray:
        m = cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR)[..., None]
        tint = np.full_like(small, (60, 200, 60))
        return (small * (0.35 + 0.65 * m) + tint * (1 - m) * 0.45).astype(np.uint8)

    d = cv2.resize(np.clip(np.abs(fresh - carried) * 4, 0, 1), (width, height))
    row = np.hstack([small, over(fresh), over(carried), cv2.cvtColor((d * 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)])
    cv2.putText(row, f"{name}  carried {since} frames  MAD {diff:.2f}", (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                (255, 255, 255), 1, cv2.LINE_AA)
    return row


def cost(cache_dir: str | None) -> None:
    print("\n== cost per 1280x720 frame on one core (onnxruntime 1 thread, OpenCV 1 thread; median of 5 rounds "
          "x 60 frames; measured on a shared, loaded 2-core machine) ==")
    photo = cv2.imread(str(FIXTURES / "astronaut_in_coffee_1280x720.png"))
    frames = clips.jittered_still(photo, n_frames=10, seed=3).frames
    plain = FrameSegmenter(gate_model=GATE_NONE, frame_edges="keep", cache_dir=cache_dir)
    low = plain(frames[0])[0]
    smoother = TemporalSmoother()
    grey, colour = EdgeRefiner(FringeOptions()), EdgeRefiner(FringeOptions(guide="colour"))
    gated = {every: FrameSegmenter(gate_every=every, cache_dir=cache_dir) for every in (1, 2, 3, GATE_EVERY)}
    steps = {
        "segment, one model (landscape)": lambda f: plain(f),
        "segment, gated (both models)": lambda f: gated[1](f),
        "segment, gated, gate_every=2": lambda f: gated[2](f),
        "segment, gated, gate_every=3": lambda f: gated[3](f),
        f"segment, gate reused while it fits ({GATE_EVERY})": lambda f: gated[GATE_EVERY](f),
        "smooth": lambda f: smoother(low, f),
        "fringe (grey guide)": lambda f: grey.refine(f, low),
        "fringe (colour guide)": lambda f: colour.refine(f, low),
        "chain before (1 model+smooth+fringe)": lambda f: grey.refine(f, smoother(plain(f)[0], f)),
        "chain after (gated+smooth+fringe)": lambda f: grey.refine(f, smoother(gated[1](f)[0], f)),
        "chain after, gate_every=3": lambda f: grey.refine(f, smoother(gated[3](f)[0], f)),
    }
    for step in steps.values():
        step(frames[0])   # warm up: sessions load lazily
    timings: dict[str, list[float]] = {key: [] for key in steps}
    for _ in range(5):
        for key, step in steps.items():
            start = time.perf_counter()
            for i in range(60):
                step(frames[i % len(frames)])
            timings[key].append((time.perf_counter() - start) * 1000.0 / 60)
    for key, values in timings.items():
        print(f"{key:<38} {statistics.median(values):6.2f} ms  [{min(values):.2f}-{max(values):.2f}]")
    print("reference: MediaPipe 0.10.14's own segmentation process() on a 720p frame, 2.2-2.7 ms "
          "(shared/perf-facts.md; 7.4 ms in shared/models.md's isolated run)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--devdata", type=Path, default=None,
                        help="folder with portraits/images, portraits/masks and videos/ (read only)")
    parser.add_argument("--frames", type=int, default=30, help="frames of the jittered still")
    parser.add_argument("--video-frames", type=int, default=90, help="frames per dev clip")
    parser.add_argument("--moving-portraits", type=int, default=12, help="dev portraits on the camera move")
    parser.add_argument("--sheet", type=Path, default=None, help="PNG: where the gate was carried furthest")
    parser.add_argument("--skip", nargs="*", default=[],
                        choices=("portraits", "motion", "videos", "moving_portraits", "gate", "cost"))
    parser.add_argument("--only", nargs="*", default=None,
                        choices=("portraits", "motion", "videos", "moving_portraits", "gate", "cost"),
                        help="run only these parts")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    if args.only is not None:
        args.skip = [part for part in ("portraits", "motion", "videos", "moving_portraits", "gate", "cost")
                     if part not in args.only]
    if args.devdata is not None and "portraits" not in args.skip:
        portraits(args.devdata, args.cache_dir)
    if "motion" not in args.skip:
        known_motion(args.cache_dir, args.frames)
    if args.devdata is not None and "videos" not in args.skip:
        dev_videos(args.devdata, args.cache_dir, args.video_frames)
    if args.devdata is not None and "moving_portraits" not in args.skip:
        moving_portraits(args.devdata, args.cache_dir, args.moving_portraits, 48)
    if "gate" not in args.skip:
        gate_carry(args.devdata, args.cache_dir, args.sheet)
    if "cost" not in args.skip:
        cost(args.cache_dir)


if __name__ == "__main__":
    main()
