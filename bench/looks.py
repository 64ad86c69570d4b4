"""CPU cost of each look's render() (the composite node's work) at 720p and 1080p on one core (issue 17).
Prints a table; asserts nothing.

Not for: the whole chain (bench/chain.py) or tests (no timing is ever asserted). Run:
    python bench/looks.py [--frames 30] [--rounds 5] [--recipes replace,poster] [--sizes 1280x720,1920x1080]
                          [--before TREE] [--still] [--quality PHOTO [--sheet PNG]]
                          [--before TREE --portraits DIR [--sheets DIR] [--limit N]]
``--still`` feeds each look a still scene the way the chain does: one view (the first frame) with fresh sensor
noise every frame (sigma 2 levels), its one mask, and the composite's flags: scene_still on every frame,
same_mask on frames 2-4 of every 4 (the segment node segments every 4th frame of a still scene; the fringe
reuses its edge in between).
``--quality PHOTO`` times nothing: it draws that photo as such a still scene (12 frames) with and without the
looks' reuse and prints the PSNR of the reused frames against the same frames drawn afresh; ``--sheet``
writes a contact sheet (per look: a reused frame, the fresh one, their difference x8).
``--before TREE --portraits DIR`` times nothing: it draws every look of both trees on each photo of DIR (its
``*.jpg``, e.g. the dev data's portraits/images) at the photo's own size and on a 1280x720 crop of it (scaled to
1280 wide, rows round the face), masks from this tree's model and the recipe's fringe (the same masks for
both trees), and prints the PSNR of this tree's render against the other's per look (mean / min; the cut-out
over a checkerboard, so only what shows counts); ``--sheets DIR`` writes per look a contact sheet at 100% of 6
photos (the 3 furthest apart and 3 spread over the rest): before | after | |difference| x4.
``--before TREE`` (another checkout of this project, e.g. ``git worktree add /tmp/old main``) times that
tree's looks too, imported under another package name, in rounds alternating with this tree's: on a shared
machine only figures from the same run compare.
CPU time (time.thread_time_ns around render()), this process pinned to one core (0, or --core) with one
OpenCV thread, and glibc malloc set as the graph runner sets it (graph/allocator.py: frame-size temporaries
from the heap, not fresh pages; without it a look's fresh temporaries cost page faults that a real run,
through the runner, does not pay).
Frames: the sample source's 1280x720 frames held in memory (1080p: scaled up, cubic); masks: the real
segmentation model (selfie_landscape) and the recipe's own fringe options (nodes/fringe.py's EdgeRefiner)
at 720p, brought up bilinearly for larger frames as the composite node does. The first render of a size
(prepare(): plates, type, textures) is left out and printed on its own. Medians: per round the median
over frames, then the median over rounds (rounds alternate between the looks).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

DEFAULT_RECIPES = "blur,replace,colour_pop,poster,double_exposure,cutout,stencil"


def chain_masks(frames: np.ndarray, recipe: str) -> list[np.ndarray]:
    """Each frame's person mask as the composite gets it: model, then the recipe's fringe."""
    from portraitflow.models.fetch import ensure_model
    from portraitflow.models.segmenter import Segmenter
    from portraitflow.nodes.fringe import EdgeRefiner, FringeOptions
    from portraitflow.recipes.loader import load_recipe

    model = ensure_model("selfie_landscape")
    segmenter = Segmenter(model.manifest, model.onnx_path)
    refiner = EdgeRefiner(FringeOptions(**load_recipe(recipe).node_options.get("fringe", {})))
    return [refiner.refine(frame, segmenter.run(segmenter.prepare(frame))) for frame in frames]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--recipes", default=DEFAULT_RECIPES)
    parser.add_argument("--sizes", default="1280x720,1920x1080")
    parser.add_argument("--core", type=int, default=0, help="the core to pin to (another engineer's run may hold 0)")
    parser.add_argument("--before", default=None, help="another checkout of the project to time beside this one")
    parser.add_argument("--still", action="store_true", help="a still scene (see above)")
    parser.add_argument("--quality", default=None, help="a photo: reuse vs fresh PSNR")
    parser.add_argument("--sheet", default=None, help="with --quality: a contact sheet PNG")
    parser.add_argument("--portraits", default=None, help="with --before: a folder of photos, PSNR after vs before")
    parser.add_argument("--sheets", default=None, help="with --portraits: a folder for contact sheets")
    parser.add_argument("--limit", type=int, default=None, help="with --portraits: only the first N photos")
    args = parser.parse_args()
    if args.quality:
        return quality(args.quality, [r for r in args.recipes.split(",") if r], args.sheet)
    if args.portraits:
        if not args.before:
            raise SystemExit("--portraits needs --before TREE (the looks to compare against)")
        return compare_portraits(args.before, args.portraits, [r for r in args.recipes.split(",") if r],
                                 args.sheets, args.limit)

    os.sched_setaffinity(0, {args.core})
    import cv2
    cv2.setNumThreads(1)
    from portraitflow.graph import allocator
    allocator.tune_for_frames()

    from chain import make_frames

    from portraitflow.nodes.looks.catalogue import make_look
    from portraitflow.recipes.loader import load_recipe

    trees = {"": (make_look, load_recipe)}
    if args.before:
        trees["before"] = other_tree(args.before)
    recipes = [r for r in args.recipes.split(",") if r]
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",") if s]
    base = make_frames(args.frames, None)
    if args.still:
        base = still_frames(base[0], len(base))
    masks_720 = {r: chain_masks(base, r) for r in recipes}
    if args.still:   # the still view's one mask (as the fringe reuses it), on every frame
        masks_720 = {r: [ms[0]] * len(ms) for r, ms in masks_720.items()}
    inputs: dict[tuple[int, int], tuple[list[np.ndarray], dict[str, list[np.ndarray]]]] = {}
    for width, height in sizes:
        if (width, height) == (base.shape[2], base.shape[1]):
            inputs[(width, height)] = (list(base), masks_720)
            continue
        frames = [cv2.resize(f, (width, height), interpolation=cv2.INTER_CUBIC) for f in base]
        masks = {r: [cv2.resize(m, (width, height), interpolation=cv2.INTER_LINEAR) for m in ms]
                 for r, ms in masks_720.items()}
        inputs[(width, height)] = (frames, masks)

    looks, first_ms = {}, {}
    for size in sizes:
        frames, masks = inputs[size]
        for tree, (tree_make_look, tree_load_recipe) in trees.items():
            for r in recipes:
                recipe = tree_load_recipe(r)
                look = tree_make_look(recipe.look, recipe.settings)
                start = time.thread_time_ns()
                look.render(frames[0], masks[r][0])
                first_ms[(tree, r, size)] = (time.thread_time_ns() - start) / 1e6
                looks[(tree, r, size)] = look

    per_round: dict[tuple, list[float]] = {key: [] for key in looks}
    # a still scene's frames are not alike (1 in 4 is made afresh): the mean over frames is printed beside
    per_round_mean: dict[tuple, list[float]] = {key: [] for key in looks}
    for _ in range(args.rounds):
        for size in sizes:
            frames, masks = inputs[size]
            for r in recipes:
                for tree in trees:
                    look, times = looks[(tree, r, size)], []
                    for i, (frame, mask) in enumerate(zip(frames, masks[r])):
                        # what the composite sets from the fringe's meta (nodes/composite.py)
                        look.scene_still, look.same_mask = args.still, args.still and i % 4 != 0
                        start = time.thread_time_ns()
                        look.render(frame, mask)
                        times.append(time.thread_time_ns() - start)
                    per_round[(tree, r, size)].append(statistics.median(times) / 1e6)
                    per_round_mean[(tree, r, size)].append(statistics.mean(times) / 1e6)

    labels = [f"{w}x{h}" for w, h in sizes]
    if args.still:
        print("a still scene: one view with fresh noise, scene_still on every frame, same_mask on 3 in 4")
    print(f"look render() CPU ms per frame, one core, 1 OpenCV thread; median of {args.rounds} rounds x "
          f"{len(base)} frames (spread over rounds in brackets); first = the first frame of a size (prepare)")
    width = 35 if args.still else 24
    print(f"{'recipe':<24}" + "".join(f"{label:>{width}}" for label in labels) + "".join(
        f"{'first ' + label:>18}" for label in labels))
    for r in recipes:
        for tree in trees:
            cells = []
            for size in sizes:
                values = per_round[(tree, r, size)]
                cell = f"{statistics.median(values):7.2f} [{min(values):.2f}-{max(values):.2f}]"
                if args.still:
                    cell += f" mean {statistics.median(per_round_mean[(tree, r, size)]):.2f}"
                cells.append(cell)
            firsts = [f"{first_ms[(tree, r, size)]:18.1f}" for size in sizes]
            label = f"{r} ({tree})" if tree else r
            print(f"{label:<24}" + "".join(f"{c:>{width}}" for c in cells) + "".join(firsts))


def quality(photo: str, recipes: list[str], sheet: str | None, count: int = 12) -> None:
    """PSNR of each look's reused frames against the same frames drawn without reuse (see the docstring)."""
    import cv2

    from portraitflow.nodes.looks.catalogue import make_look
    from portraitflow.recipes.loader import load_recipe

    view = cv2.imread(photo)
    if view is None:
        raise SystemExit(f"--quality: cannot read {photo}")
    frames = still_frames(view, count)
    print(f"still scene of {photo} ({view.shape[1]}x{view.shape[0]}, {count} frames, sensor noise sigma 2): "
          "PSNR dB of the reused frames (same_mask) against fresh renders; min / mean")
    rows = []
    for r in recipes:
        recipe = load_recipe(r)
        mask = chain_masks(frames[:1], r)[0]
        reusing, fresh = make_look(recipe.look, recipe.settings), make_look(recipe.look, recipe.settings)
        scores, shown = [], None
        for i, frame in enumerate(frames):
            reusing.scene_still, reusing.same_mask = True, i % 4 != 0
            out, expected = reusing.render(frame, mask), fresh.render(frame, mask)
            if reusing.same_mask:
                error = float(np.mean((out.astype(np.float32) - expected.astype(np.float32)) ** 2))
                scores.append(float("inf") if error == 0 else 10 * np.log10(255.0 ** 2 / error))
                shown = (out, expected)
        print(f"{r:<18}{min(scores):8.1f}{statistics.mean(scores):8.1f}")
        out, expected = (image[..., :3] for image in shown)
        difference = cv2.convertScaleAbs(cv2.absdiff(out, expected), alpha=8.0)
        rows.append(np.hstack([out, expected, difference]))
    if sheet:
        cv2.imwrite(sheet, cv2.resize(np.vstack(rows), None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA))
        print(f"sheet: {sheet} (per row: reused, fresh, |difference| x8)")


#: the PSNR printed for identical renders (and the ceiling for any: above it the difference is a few pixels)
PSNR_CAP = 99.0


def compare_portraits(before: str, folder: str, recipes: list[str], sheets: str | None, limit: int | None) -> None:
    """PSNR of this tree's looks against ``before``'s on each photo of ``folder`` (see the docstring)."""
    import cv2

    from portraitflow.models.fetch import ensure_model
    from portraitflow.models.segmenter import Segmenter
    from portraitflow.nodes.fringe import EdgeRefiner, FringeOptions
    from portraitflow.nodes.looks.catalogue import make_look

    make_before, load_recipe = other_tree(before)
    paths = sorted(Path(folder).glob("*.jpg"))[:limit]
    if not paths:
        raise SystemExit(f"--portraits: no *.jpg in {folder}")
    model = ensure_model("selfie_landscape")
    segmenter = Segmenter(model.manifest, model.onnx_path)
    photos = []   # (name, image) at the photo's size and as a 720p crop, each with the model's raw mask
    for path in paths:
        image = cv2.imread(str(path))
        if image is None:
            raise SystemExit(f"--portraits: cannot read {path}")
        big = cv2.resize(image, (1280, round(image.shape[0] * 1280 / image.shape[1])), interpolation=cv2.INTER_CUBIC)
        top = max(0, min(big.shape[0] - 720, int(0.42 * big.shape[0]) - 360))
        wide = np.ascontiguousarray(big[top:top + 720])
        for kind, view in (("own size", image), ("720p", wide)):
            photos.append((kind, path.stem, view, segmenter.run(segmenter.prepare(view))))
    print(f"PSNR dB of this tree's looks against {before}'s, {len(paths)} photos of {folder}, at their own size "
          "and as a 1280x720 crop; the same masks for both (this tree's model + the recipe's fringe)")
    print(f"PSNR capped at {PSNR_CAP:.0f} (identical); the cut-out over a checkerboard")
    print(f"{'look':<18}" + "".join(f"{kind + ' mean / min':>24}" for kind in ("own size", "720p")) + "  worst")
    for r in recipes:
        recipe = load_recipe(r)
        refiner = EdgeRefiner(FringeOptions(**recipe.node_options.get("fringe", {})))
        looks = {kind: (make_look(recipe.look, recipe.settings), make_before(recipe.look, recipe.settings))
                 for kind in ("own size", "720p")}
        scores: dict[str, list[tuple[float, str, int]]] = {"own size": [], "720p": []}

        def draw(index: int, refiner=refiner, looks=looks) -> tuple[np.ndarray, np.ndarray]:
            kind, _, view, raw = photos[index]
            mask = refiner.refine(view, raw)
            after, old = (_flatten(look.render(view, mask)) for look in looks[kind])
            return old, after
        differing = {"own size": 0, "720p": 0}
        furthest = 0
        for index, (kind, name, _, _) in enumerate(photos):
            old, after = draw(index)
            difference = cv2.absdiff(after, old)
            error = float(np.mean(difference.astype(np.float32) ** 2))
            differing[kind] += error > 0
            furthest = max(furthest, int(difference.max()))
            scores[kind].append((PSNR_CAP if error == 0 else min(PSNR_CAP, 10 * np.log10(255.0 ** 2 / error)), name,
                                 index))
        cells = []
        for kind in ("own size", "720p"):
            values = [v[0] for v in scores[kind]]
            cells.append(f"{statistics.mean(values):15.1f} / {min(values):5.1f}")
        worst = min(scores["own size"], key=lambda v: v[0])[1]
        print(f"{r:<18}" + "".join(f"{c:>24}" for c in cells) + f"  {worst}; photos not identical: "
              f"{differing['own size']} / {differing['720p']}, largest difference {furthest} levels")
        if sheets:
            _portrait_sheet(Path(sheets) / f"{r}.png", scores["own size"], draw)


def _flatten(image: np.ndarray) -> np.ndarray:
    """BGR as it is; BGRA over a grey checkerboard (what shows of a cut-out)."""
    if image.shape[2] == 3:
        return image
    height, width = image.shape[:2]
    board = ((np.indices((height, width)).sum(0) // 16) % 2 * 80 + 100).astype(np.float32)[..., None]
    alpha = image[..., 3:4].astype(np.float32) / 255.0
    return (image[..., :3] * alpha + board * (1.0 - alpha)).astype(np.uint8)


def _portrait_sheet(path: Path, scores: list, draw) -> None:
    """6 photos at 100%: the 3 furthest apart and 3 spread over the rest, before | after | |difference| x4
    (``draw(index)``: the photo's before and after again)."""
    import cv2
    ranked = sorted(scores, key=lambda v: v[0])
    picks = ranked[:3] + [ranked[i] for i in np.linspace(3, len(ranked) - 1, 3).astype(int)] if len(ranked) > 6 \
        else ranked
    rows = []
    for score, name, index in picks:
        old, after = draw(index)
        difference = cv2.convertScaleAbs(cv2.absdiff(old, after), alpha=4.0)
        row = np.hstack([old, after, difference])
        cv2.putText(row, f"{name} {score:.1f} dB: before | after | diff x4", (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7,
                    (0, 255, 255), 2)
        rows.append(row)
    width = max(row.shape[1] for row in rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.vstack([np.pad(row, ((0, 0), (0, width - row.shape[1]), (0, 0))) for row in rows]))


def still_frames(view: np.ndarray, count: int, seed: int = 3) -> np.ndarray:
    """``count`` copies of ``view`` with a camera's sensor noise (sigma 2 grey levels), fresh each frame."""
    import cv2
    rng = np.random.default_rng(seed)
    return np.stack([cv2.add(view, rng.normal(0, 2.0, view.shape).astype(np.int16), dtype=cv2.CV_8U)
                     for _ in range(count)])


def other_tree(path: str):
    """(make_look, load_recipe) of another checkout's looks, imported as the package ``portraitflow_before``
    (through a symlink in a temporary folder: the tree's own imports are relative)."""
    import atexit
    import importlib
    import shutil
    import tempfile
    folder = tempfile.mkdtemp(prefix="looks-bench-")
    atexit.register(shutil.rmtree, folder, True)
    os.symlink(Path(path).resolve(), Path(folder) / "portraitflow_before")
    sys.path.insert(0, folder)
    catalogue = importlib.import_module("portraitflow_before.nodes.looks.catalogue")
    # the recipes (data) are read by this tree's loader: the other tree's would look its chain's node types up
    # through the installed entry points, which name this tree's classes
    from portraitflow.recipes.loader import load_recipe
    return catalogue.make_look, load_recipe


if __name__ == "__main__":
    main()
