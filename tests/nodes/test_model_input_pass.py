"""The models' input tensor made in one compiled pass (nodes/model_input_pass.c) against the Segmenter's own
OpenCV path (cv2.remap with fixed-point maps, cvtColor, np.multiply): the same float32 bits, on the sample
source's frames and the fixtures' photos at real sizes, BGR and BGRA, views a plugin may send, the default
models and user models of the other layout, colour order and normalisation; the segment node uses it and
`portraitflow mask --raw` writes the same files with it and without (PORTRAITFLOW_COMPILED=0)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from portraitflow.graph.testing import NodeHarness
from portraitflow.models.manifest import load_manifest
from portraitflow.models.registry import find_model
from portraitflow.models.segmenter import Segmenter
from portraitflow.nodes.frame_passes import SWITCH, compiled
from portraitflow.nodes.segment import FrameSegmenter, compiled_input_pass

from support.paths import PARITY

needs_compiled = pytest.mark.skipif(compiled is None, reason="the compiled passes are off (not built, or "
                                                              "PORTRAITFLOW_COMPILED=0)")
#: (width, height): 480p, 720p, 1080p, 4K, odd sizes, a non-integer ratio, both models' own sizes (the gate's
#: letterboxed input: the identity), and frames smaller than the model (the warp reads past their edge)
SIZES = [(640, 480), (1280, 720), (1920, 1080), (3840, 2160), (600, 400), (641, 361), (256, 256), (256, 144),
         (200, 120), (97, 301)]
PHOTOS = ["astronaut_512", "camera_512", "coffee_noperson_600x400", "astronaut_in_coffee_1280x720"]
#: views of a frame a plugin may send: mirrored, upside down, channels reversed in place, a box of it
VIEWS = {"mirrored": lambda f: f[:, ::-1], "upside_down": lambda f: f[::-1],
         "channels_reversed": lambda f: f[..., ::-1], "box": lambda f: f[7:-5, 11:-3],
         "every_other_column": lambda f: f[:, ::2]}


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return (a.shape == b.shape and a.dtype == b.dtype == np.float32
            and np.array_equal(a.view(np.uint32), b.view(np.uint32)))


def sample_frames(count: int = 3) -> list[np.ndarray]:
    """The embedded sample source's own 1280x720 frames (a moving camera over the astronaut)."""
    out = NodeHarness("sample_source", {"frames": 40}, max_packets=40).run()["frame"]
    return [p.payload for p in out[:: max(1, len(out) // count)][:count]]


@pytest.fixture(scope="module")
def default_pairs(model_cache):
    """Each default model as two Segmenters: the OpenCV path and the compiled pass."""
    pairs = {}
    for name in ("selfie_landscape", "selfie_general"):
        model = find_model(name, model_cache)
        pairs[name] = (Segmenter(model.manifest, model.onnx_path),
                       Segmenter(model.manifest, model.onnx_path, input_pass=compiled_input_pass))
    return pairs


def frames_at(size: tuple[int, int]) -> list[np.ndarray]:
    photos = [cv2.imread(str(PARITY / f"{name}.png")) for name in PHOTOS]
    return [cv2.resize(p, size, interpolation=cv2.INTER_AREA) for p in photos]


def assert_same_tensors(pair, frame, what: str) -> None:
    reference, compiled_pass = pair
    expected = reference.prepare(frame).copy()
    got = compiled_pass.prepare(frame)
    assert got is compiled_pass.prepare(frame)   # the Segmenter's own buffer, as its path returns
    if not same_bits(got, expected):
        differ = np.argwhere(got.view(np.uint32) != expected.view(np.uint32))
        raise AssertionError(f"{what}: {len(differ)} values differ, first at {differ[:3].tolist()}")


@needs_compiled
@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("model", ["selfie_landscape", "selfie_general"])
def test_the_pass_gives_the_opencv_paths_tensor_bit_for_bit(default_pairs, model, size):
    for i, frame in enumerate(frames_at(size)):
        assert_same_tensors(default_pairs[model], frame, f"{model} {size} photo {PHOTOS[i]}")
        bgra = cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA)
        bgra[..., 3] = np.arange(bgra.shape[1], dtype=np.uint8)[None, :]   # an alpha that must not leak in
        assert_same_tensors(default_pairs[model], bgra, f"{model} {size} BGRA {PHOTOS[i]}")


@needs_compiled
@pytest.mark.parametrize("model", ["selfie_landscape", "selfie_general"])
def test_the_sample_sources_frames_give_the_same_tensors(default_pairs, model):
    for i, frame in enumerate(sample_frames()):
        assert_same_tensors(default_pairs[model], frame, f"{model} sample frame {i}")


@needs_compiled
@pytest.mark.parametrize("view", list(VIEWS))
def test_views_a_plugin_may_send_give_the_tensor_of_their_copy(default_pairs, view):
    """Read through their strides, never copied: the same tensor as OpenCV's path, which copies them."""
    frames = frames_at((1280, 720))[:2] + sample_frames(1)
    for model in default_pairs:
        for i, frame in enumerate(frames):
            for source in (frame, cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA)):
                seen = VIEWS[view](source)
                assert not seen.flags.c_contiguous
                what = f"{model} {view} frame {i} {source.shape[2]} channels"
                assert_same_tensors(default_pairs[model], seen, what)
                expected = default_pairs[model][0].prepare(np.ascontiguousarray(seen)).copy()
                assert same_bits(default_pairs[model][1].prepare(seen), expected)


def identity_model(path: Path, layout: str, width: int, height: int) -> None:
    """A real ONNX model that returns its input's first channel (enough for a manifest's contract)."""
    shape = [1, 3, height, width] if layout == "NCHW" else [1, height, width, 3]
    axis = 1 if layout == "NCHW" else 3
    out_shape = [1, 1, height, width] if layout == "NCHW" else [1, height, width, 1]
    starts = helper.make_tensor("starts", TensorProto.INT64, [1], [0])
    ends = helper.make_tensor("ends", TensorProto.INT64, [1], [1])
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [axis])
    graph = helper.make_graph([helper.make_node("Slice", ["image", "starts", "ends", "axes"], ["first"])],
                              "identity", [helper.make_tensor_value_info("image", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("first", TensorProto.FLOAT, out_shape)],
                              initializer=[starts, ends, axes])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))


USER_MODELS = {   # layout, colour order, size, scale, mean, std: an ImageNet-style normalisation and others
    "nchw_bgr_imagenet": ("NCHW", "BGR", (224, 224), 1 / 255, [0.406, 0.456, 0.485], [0.225, 0.224, 0.229]),
    "nchw_rgb_symmetric": ("NCHW", "RGB", (320, 180), 1 / 127.5, [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]),
    "nhwc_bgr_mean": ("NHWC", "BGR", (160, 96), 1.0, [103.94, 116.78, 123.68], [58.4, 57.1, 57.4]),
    "nhwc_rgb_raw_levels": ("NHWC", "RGB", (192, 192), 1.0, [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]),
}


@needs_compiled
@pytest.mark.parametrize("name", list(USER_MODELS))
def test_user_models_of_other_layouts_orders_and_normalisations_get_the_same_tensors(tmp_path, name):
    layout, order, (width, height), scale, mean, std = USER_MODELS[name]
    manifest_path = tmp_path / f"{name}.toml"
    manifest_path.write_text(f'[input]\nname = "image"\nwidth = {width}\nheight = {height}\n'
                             f'layout = "{layout}"\ncolor_order = "{order}"\nscale = {scale!r}\n'
                             f'mean = {mean}\nstd = {std}\n[output]\nkind = "probability"\n')
    identity_model(tmp_path / f"{name}.onnx", layout, width, height)
    manifest = load_manifest(manifest_path)
    pair = (Segmenter(manifest, tmp_path / f"{name}.onnx"),
            Segmenter(manifest, tmp_path / f"{name}.onnx", input_pass=compiled_input_pass))
    frames = frames_at((1280, 720))[1:3] + frames_at((641, 361))[:1] + frames_at((width, height))[:1]
    for i, frame in enumerate(frames):
        assert_same_tensors(pair, frame, f"{name} frame {i}")
        mirrored_bgra = VIEWS["mirrored"](cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA))
        assert_same_tensors(pair, mirrored_bgra, f"{name} mirrored BGRA {i}")
    tensor = pair[1].prepare(frames[-1])
    # the identity case: each channel is the frame's own level normalised (a check that could fail alone)
    frame = frames[-1].astype(np.float32)[..., ::-1 if order == "RGB" else 1]
    planes = tensor[0] if layout == "NCHW" else np.moveaxis(tensor[0], -1, 0)
    for c in range(3):
        expected = (frame[..., c] * np.float32(scale / std[c])) - np.float32(mean[c] / std[c])
        np.testing.assert_allclose(planes[c], expected, rtol=1e-5, atol=1e-5)


@needs_compiled
def test_the_segment_node_uses_the_pass_and_its_masks_match_mediapipes(model_cache):
    segmenter = FrameSegmenter(gate_model="none", frame_edges="keep")
    frame = cv2.imread(str(PARITY / "astronaut_in_coffee_1280x720.png"))
    mask, model, _ = segmenter(frame)
    assert segmenter.segmenter(model).input_pass is compiled_input_pass
    reference = np.load(PARITY / "astronaut_in_coffee_1280x720.mediapipe_masks.npz")[
        "selfie_segmentation_landscape__full"]
    full = cv2.resize(mask, (1280, 720), interpolation=cv2.INTER_LINEAR)
    assert float(np.abs(full - reference).max()) < 2e-3
    assert ((full >= 0.5) == (reference >= 0.5)).mean() > 0.9999


def mask_files(out: Path, images: list[str], compiled_on: bool) -> dict[str, bytes]:
    env = {**os.environ, SWITCH: "1" if compiled_on else "0"}
    subprocess.run([sys.executable, "-m", "portraitflow", "mask", *images, "-o", str(out), "--raw", "--npy"],
                   check=True, env=env, capture_output=True, timeout=300)
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


@needs_compiled
def test_mask_raw_writes_the_same_files_with_the_pass_and_without(model_cache, tmp_path):
    """The real CLI in child processes, both paths: every .npy byte for byte (photos at 5 sizes, BGRA too)."""
    images = [str(PARITY / f"{name}.png") for name in PHOTOS]
    base = cv2.imread(str(PARITY / "astronaut_in_coffee_1280x720.png"))
    for w, h in [(640, 480), (1920, 1080), (641, 361), (200, 120)]:
        path = tmp_path / f"resized_{w}x{h}.png"
        cv2.imwrite(str(path), cv2.resize(base, (w, h), interpolation=cv2.INTER_AREA))
        images.append(str(path))
    bgra = tmp_path / "with_alpha.png"
    cv2.imwrite(str(bgra), cv2.cvtColor(base, cv2.COLOR_BGR2BGRA))
    images.append(str(bgra))
    with_pass = mask_files(tmp_path / "compiled", images, True)
    without = mask_files(tmp_path / "opencv", images, False)
    assert len(with_pass) == len(images) and with_pass.keys() == without.keys()
    assert [name for name in with_pass if with_pass[name] != without[name]] == []


GUARDED = """
import ctypes, mmap, sys
import cv2, numpy as np
from portraitflow.nodes.frame_passes import compiled
libc, PAGE = ctypes.CDLL(None), mmap.PAGESIZE
def guarded(count):
    pages = (count + PAGE - 1) // PAGE + 1
    memory = mmap.mmap(-1, pages * PAGE)
    base = ctypes.addressof(ctypes.c_char.from_buffer(memory))
    assert libc.mprotect(ctypes.c_void_p(base + (pages - 1) * PAGE), PAGE, 0) == 0
    return np.frombuffer(memory, np.uint8, count=count, offset=(pages - 1) * PAGE - count)
photo, gain, calls = cv2.imread(sys.argv[1]), np.full(3, 1 / 255, np.float32), 0
for w, h in [(1280, 720), (641, 361), (256, 256), (256, 144), (257, 145), (200, 120), (97, 301)]:
    for channels in (3, 4):
        frame = guarded(h * w * channels).reshape(h, w, channels)
        resized = cv2.resize(photo, (w, h))
        frame[...] = resized if channels == 3 else cv2.cvtColor(resized, cv2.COLOR_BGR2BGRA)
        for W, H in [(256, 144), (256, 256), (255, 143)]:
            for layout, shape in [("NHWC", (1, H, W, 3)), ("NCHW", (1, 3, H, W))]:
                out = guarded(4 * H * W * 3).view(np.float32).reshape(shape)
                for view in (frame, frame[::-1], frame[:, ::-1], frame[3:, 5:]):
                    compiled.model_input(view, out, layout, "RGB", gain)
                    calls += 1
print(calls)
"""


@needs_compiled
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="guard pages with mprotect (Linux)")
def test_the_pass_reads_and_writes_nothing_past_a_frame_or_a_tensor(tmp_path):
    """Frames and tensors whose last byte is the last before an unmapped page (as a frame received into a
    message buffer may be): a read or write past either faults, in a child process."""
    script = tmp_path / "guarded.py"
    script.write_text(GUARDED)
    done = subprocess.run([sys.executable, str(script), str(PARITY / "astronaut_in_coffee_1280x720.png")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"the child ended with {done.returncode}: {done.stderr[-2000:]}"
    assert done.stdout.split() == [str(7 * 2 * 3 * 2 * 4)]


#: each bad call: the arguments made from a good frame f, tensor o and gain g; the error; what it says
BAD_CALLS = {
    "frame_dtype": (lambda f, o, g: (f.astype(np.float32), o, "NHWC", "RGB", g),
                    TypeError, "^frame: expected uint8"),
    "frame_2d": (lambda f, o, g: (f[..., 0], o, "NHWC", "RGB", g), ValueError, "^frame: .*got 2 dimensions"),
    "frame_two_channels": (lambda f, o, g: (f[..., :2], o, "NHWC", "RGB", g), ValueError,
                           "^frame: .*got 720 x 1280 x 2"),
    "frame_empty": (lambda f, o, g: (f[:0], o, "NHWC", "RGB", g), ValueError, "^frame: .*got 0 x 1280 x 3"),
    "frame_list": (lambda f, o, g: ([[1, 2, 3]], o, "NHWC", "RGB", g),
                   TypeError, "^frame: expected a numpy array"),
    "frame_too_tall": (lambda f, o, g: (np.zeros((40000, 2, 3), np.uint8), o, "NHWC", "RGB", g), ValueError,
                       "^frame: expected at most 32767 rows and columns, got 40000 x 2"),
    "out_3d": (lambda f, o, g: (f, o[0], "NHWC", "RGB", g), ValueError,
               "^out: expected 1 x H x W x 3, got 144 x 256 x 3"),
    "out_layout": (lambda f, o, g: (f, o, "NCHW", "RGB", g), ValueError,
                   "^out: expected 1 x 3 x H x W, got 1 x 144 x 256 x 3"),
    "out_dtype": (lambda f, o, g: (f, o.astype(np.float64), "NHWC", "RGB", g),
                  TypeError, "^out: expected float32"),
    "out_view": (lambda f, o, g: (f, o[:, ::-1], "NHWC", "RGB", g), TypeError,
                 "^out: expected a C-contiguous, writable"),
    "out_readonly": (lambda f, o, g: (f, np.broadcast_to(o, o.shape), "NHWC", "RGB", g), TypeError,
                     "^out: .*writable"),
    "layout": (lambda f, o, g: (f, o, "NWHC", "RGB", g),
               ValueError, "^layout: expected 'NHWC' or 'NCHW', got 'NWHC'"),
    "color_order": (lambda f, o, g: (f, o, "NHWC", "rgb", g), ValueError,
                    "^color_order: expected 'RGB' or 'BGR', got 'rgb'"),
    "gain_size": (lambda f, o, g: (f, o, "NHWC", "RGB", g[:2]),
                  ValueError, "^gain: expected 3 channels, got 2"),
    "gain_dtype": (lambda f, o, g: (f, o, "NHWC", "RGB", g.astype(np.float64)),
                   TypeError, "^gain: expected float32"),
    "gain_scalar": (lambda f, o, g: (f, o, "NHWC", "RGB", 1 / 255),
                    TypeError, "^gain: expected a C-contiguous"),
    "offset_size": (lambda f, o, g: (f, o, "NHWC", "RGB", g, np.zeros(4, np.float32)), ValueError,
                    "^offset: expected 3 channels, got 4"),
}


@needs_compiled
@pytest.mark.parametrize("case", list(BAD_CALLS))
def test_bad_arguments_name_the_argument_and_leave_the_tensor(case):
    make_args, error, match = BAD_CALLS[case]
    frame = frames_at((1280, 720))[0]
    out = np.full((1, 144, 256, 3), 7.0, np.float32)
    with pytest.raises(error, match=match):
        compiled.model_input(*make_args(frame, out, np.full(3, 1 / 255, np.float32)))
    assert np.all(out == 7.0)


def test_the_segmenter_refuses_a_bad_frame_on_either_path(default_pairs):
    for segmenter in default_pairs["selfie_landscape"]:
        for bad, got in [(np.zeros((72, 128), np.uint8), r"uint8 \(72, 128\)"),
                         (np.zeros((72, 128, 3), np.float32), r"float32 \(72, 128, 3\)"),
                         (np.zeros((72, 128, 2), np.uint8), r"uint8 \(72, 128, 2\)"), ("frame.png", "str")]:
            expected = rf"expected a uint8 HxWx3 BGR \(or HxWx4 BGRA\) frame, got {got}"
            with pytest.raises(ValueError, match=expected):
                segmenter.prepare(bad)
