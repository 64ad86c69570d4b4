"""Convert a TFLite flatbuffer (MediaPipe's selfie segmentation models) into an ONNX model.

Not for: arbitrary TFLite graphs. It knows exactly the ops these models use and refuses any other op
with a ModelError naming it. Tensors are NCHW inside the ONNX graph; the model's input and output keep
TFLite's NHWC layout at the edges, so the converted model has the same contract as the original.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import onnx
import tflite
from onnx import TensorProto, helper, numpy_helper
from tflite.ActivationFunctionType import ActivationFunctionType
from tflite.BuiltinOperator import BuiltinOperator
from tflite.Padding import Padding

from ..graph.errors import ModelError

OPSET = 17
#: bump when the converter's output changes, so cached .onnx files are rebuilt
CONVERTER_VERSION = 1

_OP_NAMES = {value: name for name, value in vars(BuiltinOperator).items() if not name.startswith("_")}
_TFLITE_DTYPES = {
    tflite.TensorType.FLOAT32: np.float32,
    tflite.TensorType.FLOAT16: np.float16,
    tflite.TensorType.INT32: np.int32,
    tflite.TensorType.INT64: np.int64,
    tflite.TensorType.UINT8: np.uint8,
    tflite.TensorType.INT8: np.int8,
}
NHWC_TO_NCHW = [0, 3, 1, 2]
NCHW_TO_NHWC = [0, 2, 3, 1]


def transposed_conv_weight_to_onnx(ohwi: np.ndarray) -> np.ndarray:
    """MediaPipe's Convolution2DTransposeBias kernel [C_out, kH, kW, C_in] as ONNX ConvTranspose's
    [C_in, C_out, kH, kW]. Straight axis permutation, no spatial flip: MediaPipe's kernel is applied
    as a scatter (out[y*s+i, x*s+j] += in[y, x] * w[i, j]), which is what ConvTranspose does."""
    return np.ascontiguousarray(ohwi.transpose(3, 0, 1, 2))


@dataclass(frozen=True)
class _Tensor:
    name: str
    shape: tuple[int, ...]
    data: np.ndarray | None  # constant data (float16 already folded to float32), else None


class _Converter:
    """One conversion: walks the TFLite operators in order and appends ONNX nodes."""

    def __init__(self, buffer: bytes, model_name: str):
        self.model_name = model_name
        try:
            self.model = tflite.Model.GetRootAsModel(buffer, 0)
            self.graph = self.model.Subgraphs(0) if self.model.SubgraphsLength() == 1 else None
        except Exception as exc:  # the flatbuffer library raises assorted errors on garbage
            raise ModelError(f"model {model_name!r}: not a TFLite flatbuffer ({exc})") from exc
        if self.graph is None:
            raise ModelError(f"model {model_name!r}: not a TFLite flatbuffer with one subgraph")
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: dict[str, onnx.TensorProto] = {}
        self.constants: dict[int, np.ndarray] = {}
        self._unique = 0

    # -- tensors -------------------------------------------------------------------------------
    def tensor(self, index: int) -> _Tensor:
        t = self.graph.Tensors(index)
        shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        data = self.constants.get(index)
        if data is None:
            raw = self.model.Buffers(t.Buffer()).DataAsNumpy() if t.Buffer() else 0
            if isinstance(raw, np.ndarray) and raw.size:
                dtype = _TFLITE_DTYPES.get(t.Type())
                if dtype is None:
                    raise ModelError(f"model {self.model_name!r}: tensor {t.Name().decode()!r} has "
                                     f"unsupported type {t.Type()}")
                data = np.frombuffer(raw.tobytes(), dtype=dtype).reshape(shape)
                if data.dtype == np.float16:
                    data = data.astype(np.float32)
                self.constants[index] = data
        return _Tensor(self.value_name(index), shape, data)

    def value_name(self, index: int) -> str:
        return self.graph.Tensors(index).Name().decode()

    def const(self, hint: str, array: np.ndarray) -> str:
        self._unique += 1
        name = f"{hint}__{self._unique}"
        self.initializers[name] = numpy_helper.from_array(np.ascontiguousarray(array), name)
        return name

    def add(self, op_type: str, inputs: list[str], outputs: list[str], **attrs) -> None:
        self.nodes.append(helper.make_node(op_type, inputs, outputs, name=outputs[0] + "__" + op_type,
                                           **attrs))

    def activation_input(self, op, position: int) -> str:
        """An operand of an elementwise op: a graph value, or a constant laid out for NCHW."""
        t = self.tensor(op.Inputs(position))
        if t.data is None:
            return t.name
        data = t.data
        if data.ndim == 4:
            data = data.transpose(NHWC_TO_NCHW)
        elif data.ndim == 1 and data.size > 1:
            data = data.reshape(1, -1, 1, 1)  # per-channel (NHWC's last axis) -> NCHW channel axis
        return self.const(t.name, data)

    def fused(self, op_name: str, output: str, activation: int) -> str:
        """Emit the op into a temporary value when a fused activation follows; return its name."""
        if activation == ActivationFunctionType.NONE:
            return output
        if activation in (ActivationFunctionType.RELU, ActivationFunctionType.RELU6):
            raw = output + "__pre_activation"
            return raw
        raise ModelError(f"model {self.model_name!r}: op {op_name} has unsupported fused activation "
                         f"{activation}")

    def finish_activation(self, raw: str, output: str, activation: int) -> None:
        if activation == ActivationFunctionType.RELU:
            self.add("Relu", [raw], [output])
        elif activation == ActivationFunctionType.RELU6:
            self.add("Clip", [raw, self.const("zero", np.float32(0)), self.const("six", np.float32(6))],
                     [output])

    # -- ops -----------------------------------------------------------------------------------
    def convert(self) -> onnx.ModelProto:
        g = self.graph
        if g.InputsLength() != 1:
            raise ModelError(f"model {self.model_name!r}: expected one input, got {g.InputsLength()}")
        for i in range(g.OperatorsLength()):
            op = g.Operators(i)
            code = self.model.OperatorCodes(op.OpcodeIndex())
            builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
            name = _OP_NAMES.get(builtin, f"builtin code {builtin}")
            if builtin == BuiltinOperator.CUSTOM:
                name = (code.CustomCode() or b"").decode() or "CUSTOM (unnamed)"
            handler = _HANDLERS.get(name)
            if handler is None:
                raise ModelError(f"model {self.model_name!r}: unsupported TFLite op {name} "
                                 f"(operator #{i}); the converter knows {', '.join(sorted(_HANDLERS))}")
            handler(self, op)

        in_index, out_index = g.Inputs(0), g.Outputs(0)
        inp, out = self.tensor(in_index), self.tensor(out_index)
        graph_in, graph_out = inp.name, out.name
        # The edges stay NHWC: one transpose in, one out (both on tiny 3- and 1-channel tensors).
        self.nodes.insert(0, helper.make_node("Transpose", [graph_in], [graph_in + "__nchw"],
                                              perm=NHWC_TO_NCHW, name="input__to_nchw"))
        self._rename_input(graph_in, graph_in + "__nchw")
        self._rename_output(graph_out, graph_out + "__nchw")
        self.add("Transpose", [graph_out + "__nchw"], [graph_out], perm=NCHW_TO_NHWC)

        graph = helper.make_graph(
            self.nodes, self.model_name,
            [helper.make_tensor_value_info(graph_in, TensorProto.FLOAT, list(inp.shape))],
            [helper.make_tensor_value_info(graph_out, TensorProto.FLOAT, list(out.shape))],
            initializer=list(self.initializers.values()))
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="portraitflow.tflite_to_onnx",
                                  producer_version=str(CONVERTER_VERSION))
        model.ir_version = 8  # the IR of opset 17, so older onnxruntime releases load it too
        try:
            onnx.checker.check_model(model, full_check=True)
        except onnx.checker.ValidationError as exc:
            raise ModelError(f"model {self.model_name!r}: converted graph fails onnx.checker: {exc}") from exc
        return model

    def _rename_input(self, old: str, new: str) -> None:
        for node in self.nodes[1:]:
            for k, name in enumerate(node.input):
                if name == old:
                    node.input[k] = new

    def _rename_output(self, old: str, new: str) -> None:
        for node in self.nodes:
            for k, name in enumerate(node.output):
                if name == old:
                    node.output[k] = new

    def op_dequantize(self, op) -> None:
        source = self.tensor(op.Inputs(0))
        if source.data is None:
            raise ModelError(f"model {self.model_name!r}: DEQUANTIZE of a runtime tensor "
                             f"{source.name!r} is not supported (only constant float16 weights)")
        self.constants[op.Outputs(0)] = source.data.astype(np.float32)

    def _conv_pads(self, in_hw, kernel_hw, stride_hw, dilation_hw, padding) -> list[int]:
        if padding == Padding.VALID:
            return [0, 0, 0, 0]
        begins, ends = [], []
        for size, k, s, d in zip(in_hw, kernel_hw, stride_hw, dilation_hw):
            out = -(-size // s)
            total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
            begins.append(total // 2)  # TensorFlow puts the odd pixel at the end
            ends.append(total - total // 2)
        return begins + ends

    def _conv(self, op, depthwise: bool) -> None:
        x, w, b = (self.tensor(op.Inputs(k)) for k in range(3))
        out = self.value_name(op.Outputs(0))
        opts = _builtin_options(op, tflite.DepthwiseConv2DOptions if depthwise else tflite.Conv2DOptions)
        stride = (opts.StrideH(), opts.StrideW())
        dilation = (opts.DilationHFactor(), opts.DilationWFactor())
        kernel_hw = w.shape[1:3]
        pads = self._conv_pads(x.shape[1:3], kernel_hw, stride, dilation, opts.Padding())
        if depthwise:
            weight = w.data.transpose(3, 0, 1, 2)  # [1, kH, kW, C*M] -> [C*M, 1, kH, kW]
            group = x.shape[3]
        else:
            weight = w.data.transpose(0, 3, 1, 2)  # OHWI -> OIHW
            group = 1
        activation = opts.FusedActivationFunction()
        target = self.fused("CONV", out, activation)
        self.add("Conv", [x.name, self.const(w.name, weight), self.const(b.name, b.data)], [target],
                 kernel_shape=list(kernel_hw), strides=list(stride), dilations=list(dilation),
                 pads=pads, group=group)
        self.finish_activation(target, out, activation)

    def op_conv_2d(self, op) -> None:
        self._conv(op, depthwise=False)

    def op_depthwise_conv_2d(self, op) -> None:
        self._conv(op, depthwise=True)

    def op_average_pool_2d(self, op) -> None:
        x = self.tensor(op.Inputs(0))
        out = self.value_name(op.Outputs(0))
        opts = _builtin_options(op, tflite.Pool2DOptions)
        kernel = (opts.FilterHeight(), opts.FilterWidth())
        if opts.FusedActivationFunction() != ActivationFunctionType.NONE:
            raise ModelError(f"model {self.model_name!r}: AVERAGE_POOL_2D with a fused activation "
                             f"is not supported")
        if tuple(kernel) == tuple(x.shape[1:3]):
            self.add("GlobalAveragePool", [x.name], [out])
            return
        stride = (opts.StrideH(), opts.StrideW())
        pads = self._conv_pads(x.shape[1:3], kernel, stride, (1, 1), opts.Padding())
        # TFLite averages only over the valid pixels of a padded window
        self.add("AveragePool", [x.name], [out], kernel_shape=list(kernel), strides=list(stride),
                 pads=pads, count_include_pad=0)

    def op_mean(self, op) -> None:
        x = self.tensor(op.Inputs(0))
        axes = self.tensor(op.Inputs(1)).data
        out = self.value_name(op.Outputs(0))
        opts = _builtin_options(op, tflite.ReducerOptions)
        axes_nhwc = sorted(int(a) % 4 for a in np.atleast_1d(axes))
        if axes_nhwc == [1, 2] and opts.KeepDims():
            self.add("GlobalAveragePool", [x.name], [out])
            return
        if not opts.KeepDims():
            raise ModelError(f"model {self.model_name!r}: MEAN without keep_dims is not supported")
        nhwc_to_nchw_axis = {0: 0, 1: 2, 2: 3, 3: 1}
        self.add("ReduceMean", [x.name], [out], axes=[nhwc_to_nchw_axis[a] for a in axes_nhwc], keepdims=1)

    def op_resize_bilinear(self, op) -> None:
        x = self.tensor(op.Inputs(0))
        size = self.tensor(op.Inputs(1)).data
        out = self.value_name(op.Outputs(0))
        opts = _builtin_options(op, tflite.ResizeBilinearOptions)
        if opts.AlignCorners():
            mode = "align_corners"
        elif opts.HalfPixelCenters():
            mode = "half_pixel"
        else:
            mode = "asymmetric"
        sizes = np.array([x.shape[0], x.shape[3], int(size[0]), int(size[1])], dtype=np.int64)
        self.add("Resize", [x.name, "", "", self.const(out + "_sizes", sizes)], [out], mode="linear",
                 coordinate_transformation_mode=mode)

    def op_convolution_2d_transpose_bias(self, op) -> None:
        """MediaPipe's custom op: 12 bytes of options (padding, stride_w, stride_h as int32), where
        padding follows TFLite's C enum (1 = SAME, 2 = VALID), not the schema's (0 = SAME)."""
        x, w, b = (self.tensor(op.Inputs(k)) for k in range(3))
        out_tensor = self.tensor(op.Outputs(0))
        raw = op.CustomOptionsAsNumpy().tobytes() if op.CustomOptionsLength() else b""
        if len(raw) != 12:
            raise ModelError(f"model {self.model_name!r}: Convolution2DTransposeBias options must be "
                             f"12 bytes, got {len(raw)}")
        padding, stride_w, stride_h = (int(v) for v in np.frombuffer(raw, dtype="<i4"))
        k_h, k_w = w.shape[1:3]
        pads = [0, 0, 0, 0]
        if padding == 1:  # SAME: output = input * stride; trim the overhang like TensorFlow does
            for axis, (size, k, s, out) in enumerate(zip(x.shape[1:3], (k_h, k_w), (stride_h, stride_w),
                                                         out_tensor.shape[1:3])):
                total = max((size - 1) * s + k - out, 0)
                pads[axis], pads[axis + 2] = total // 2, total - total // 2
        elif padding != 2:
            raise ModelError(f"model {self.model_name!r}: Convolution2DTransposeBias padding {padding} "
                             f"is neither 1 (SAME) nor 2 (VALID)")
        weight = transposed_conv_weight_to_onnx(w.data)
        self.add("ConvTranspose", [x.name, self.const(w.name, weight), self.const(b.name, b.data)],
                 [out_tensor.name], kernel_shape=[k_h, k_w], strides=[stride_h, stride_w], pads=pads)


def _builtin_options(op, options_cls: type):
    """The operator's builtin options table read as ``options_cls``, or None when it has none."""
    table = op.BuiltinOptions()
    if table is None:
        return None
    opts = options_cls()
    opts.Init(table.Bytes, table.Pos)
    return opts


def _unary(onnx_op: str) -> Callable:
    def handler(conv: _Converter, op) -> None:
        conv.add(onnx_op, [conv.value_name(op.Inputs(0))], [conv.value_name(op.Outputs(0))])
    return handler


def _binary(onnx_op: str, options_cls: type) -> Callable:
    def handler(conv: _Converter, op) -> None:
        out = conv.value_name(op.Outputs(0))
        opts = _builtin_options(op, options_cls)
        activation = opts.FusedActivationFunction() if opts is not None else ActivationFunctionType.NONE
        target = conv.fused(onnx_op, out, activation)
        conv.add(onnx_op, [conv.activation_input(op, 0), conv.activation_input(op, 1)], [target])
        conv.finish_activation(target, out, activation)
    return handler


_HANDLERS: dict[str, Callable] = {
    "DEQUANTIZE": _Converter.op_dequantize,
    "CONV_2D": _Converter.op_conv_2d,
    "DEPTHWISE_CONV_2D": _Converter.op_depthwise_conv_2d,
    "RELU": _unary("Relu"),
    "HARD_SWISH": _unary("HardSwish"),
    "LOGISTIC": _unary("Sigmoid"),
    "ADD": _binary("Add", tflite.AddOptions),
    "MUL": _binary("Mul", tflite.MulOptions),
    "AVERAGE_POOL_2D": _Converter.op_average_pool_2d,
    "MEAN": _Converter.op_mean,
    "RESIZE_BILINEAR": _Converter.op_resize_bilinear,
    "Convolution2DTransposeBias": _Converter.op_convolution_2d_transpose_bias,
}


def convert_tflite(buffer: bytes, model_name: str) -> onnx.ModelProto:
    """Convert a TFLite flatbuffer to a checked ONNX model (opset 17, NHWC input and output).

    Raises ModelError naming the model and the op when the graph uses an op this converter lacks.
    """
    return _Converter(bytes(buffer), model_name).convert()
