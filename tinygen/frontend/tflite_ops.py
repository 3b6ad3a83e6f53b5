"""Map one parsed TFLite operator to an IR OpKind, its typed attrs, and the inputs the IR keeps."""
from __future__ import annotations

from typing import Callable

import numpy as np

from tinygen import ir
from tinygen.errors import ModelFormatError, UnsupportedError
from tinygen.ir import Activation, OpKind, Padding
from tinygen.frontend.tflite_parse import RawOp, RawTensor

_ACTIVATIONS = {0: Activation.NONE, 1: Activation.RELU, 2: Activation.RELU_N1_TO_1, 3: Activation.RELU6}
_ACTIVATION_NAMES = {4: "TANH", 5: "SIGN_BIT"}
_SAME, _VALID = 0, 1


class OpContext:
    """The operator being converted, with helpers that raise errors naming it."""

    def __init__(self, op: RawOp, tensors: list, source: str, layer: str):
        self.op, self.tensors, self.source, self.layer = op, tensors, source, layer

    def where(self) -> str:
        return f"{self.source}: layer '{self.layer}' ({self.op.opname}, operator {self.op.index})"

    def bad(self, msg: str) -> ModelFormatError:
        return ModelFormatError(f"{self.where()}: {msg}")

    def unsupported(self, msg: str) -> UnsupportedError:
        return UnsupportedError(f"{self.where()}: {msg}")

    def input(self, k: int, rank: int | None = None) -> RawTensor:
        if k >= len(self.op.inputs) or self.op.inputs[k] < 0:
            raise self.bad(f"input {k} is missing")
        t = self.tensors[self.op.inputs[k]]
        if rank is not None and len(t.shape) != rank:
            raise self.bad(f"input {k} '{t.name}' has shape {list(t.shape)}, expected rank {rank}")
        return t

    def output(self, rank: int | None = None) -> RawTensor:
        if not self.op.outputs:
            raise self.bad("the operator has no output")
        t = self.tensors[self.op.outputs[0]]
        if rank is not None and len(t.shape) != rank:
            raise self.bad(f"output '{t.name}' has shape {list(t.shape)}, expected rank {rank}")
        return t

    def const(self, k: int, field: str) -> np.ndarray:
        t = self.input(k)
        if t.data is None:
            raise self.unsupported(f"{field} (input {k} '{t.name}') must be a constant")
        return t.data

    def int_const(self, k: int, field: str) -> np.ndarray:
        """A constant input that must hold integers (indices, shapes, sizes)."""
        data = self.const(k, field)
        if not np.issubdtype(data.dtype, np.integer):
            raise self.bad(f"{field} (input {k} '{self.input(k).name}') must be an integer tensor, got {data.dtype}")
        return data

    def activation(self) -> Activation:
        code = int(self.op.options.get("FusedActivationFunction", 0))
        if code in _ACTIVATIONS:
            return _ACTIVATIONS[code]
        if code in _ACTIVATION_NAMES:
            raise self.unsupported(f"fused activation {_ACTIVATION_NAMES[code]} is not supported")
        raise self.bad(f"fused_activation_function {code} is not a valid value")

    def positive(self, *fields: str) -> list:
        vals = [int(self.op.options[f]) for f in fields]
        for f, v in zip(fields, vals):
            if v < 1:
                raise self.bad(f"{f} is {v}, must be >= 1")
        return vals

    def window(self, in_shape: tuple, fh: int, fw: int, sh: int, sw: int, dh: int, dw: int) -> Padding:
        """Explicit padding for SAME/VALID, checked against the output tensor's H and W."""
        out = self.output(rank=4)
        code = int(self.op.options["Padding"])
        if code == _SAME:
            top, bottom, oh = ir.same_padding(in_shape[1], fh, sh, dh)
            left, right, ow = ir.same_padding(in_shape[2], fw, sw, dw)
            pad = Padding(top, bottom, left, right)
        elif code == _VALID:
            oh, ow = ir.valid_out(in_shape[1], fh, sh, dh), ir.valid_out(in_shape[2], fw, sw, dw)
            pad = Padding()
        else:
            raise self.bad(f"padding {code} is neither SAME nor VALID")
        if (oh, ow) != tuple(out.shape[1:3]):
            raise self.bad(f"output '{out.name}' is {list(out.shape)} but the window gives H={oh} W={ow}")
        return pad


def _conv(c: OpContext):
    x, w = c.input(0, rank=4), c.input(1, rank=4)
    sh, sw, dh, dw = c.positive("StrideH", "StrideW", "DilationHFactor", "DilationWFactor")
    if w.shape[3] == 0 or x.shape[3] % w.shape[3] != 0:
        raise c.bad(f"filter {list(w.shape)} does not match input channels {x.shape[3]}")
    if x.shape[3] != w.shape[3]:
        raise c.unsupported(f"grouped convolution (input channels {x.shape[3]}, filter {list(w.shape)})")
    pad = c.window(x.shape, w.shape[1], w.shape[2], sh, sw, dh, dw)
    attrs = ir.Conv2DAttrs(sh, sw, dh, dw, pad, c.activation())
    return OpKind.CONV_2D, attrs, _with_bias(c)


def _depthwise(c: OpContext):
    x, w = c.input(0, rank=4), c.input(1, rank=4)
    sh, sw, dh, dw = c.positive("StrideH", "StrideW", "DilationHFactor", "DilationWFactor")
    in_ch, out_ch = x.shape[3], w.shape[3]
    if w.shape[0] != 1 or in_ch == 0 or out_ch % in_ch != 0:
        raise c.bad(f"depthwise filter {list(w.shape)} does not fit input channels {in_ch}")
    multiplier = int(c.op.options["DepthMultiplier"])
    if multiplier <= 0 or in_ch * multiplier != out_ch:
        multiplier = out_ch // in_ch  # the option is 0 or stale: the shapes are the truth
    pad = c.window(x.shape, w.shape[1], w.shape[2], sh, sw, dh, dw)
    attrs = ir.DepthwiseConv2DAttrs(sh, sw, multiplier, dh, dw, pad, c.activation())
    return OpKind.DEPTHWISE_CONV_2D, attrs, _with_bias(c)


def _fully_connected(c: OpContext):
    c.input(0)
    c.input(1, rank=2)
    if int(c.op.options["WeightsFormat"]) != 0:
        raise c.unsupported(f"weights_format {c.op.options['WeightsFormat']} (only DEFAULT is supported)")
    attrs = ir.FullyConnectedAttrs(c.activation(), bool(c.op.options["KeepNumDims"]))
    return OpKind.FULLY_CONNECTED, attrs, _with_bias(c)


def _with_bias(c: OpContext) -> list:
    ins = c.op.inputs
    bias = ins[2] if len(ins) > 2 and ins[2] >= 0 else None
    return [ins[0], ins[1], bias]


def _pool(kind: OpKind) -> Callable:
    def convert(c: OpContext):
        x = c.input(0, rank=4)
        sh, sw, fh, fw = c.positive("StrideH", "StrideW", "FilterHeight", "FilterWidth")
        pad = c.window(x.shape, fh, fw, sh, sw, 1, 1)
        return kind, ir.Pool2DAttrs(fh, fw, sh, sw, pad, c.activation()), [c.op.inputs[0]]
    return convert


def _broadcast(c: OpContext, x: RawTensor, y: RawTensor) -> None:
    """NumPy's broadcast of the two input shapes, checked dimension by dimension (a ModelFormatError if none)."""
    rank = max(len(x.shape), len(y.shape))
    a = (1,) * (rank - len(x.shape)) + tuple(x.shape)
    b = (1,) * (rank - len(y.shape)) + tuple(y.shape)
    for d, (m, n) in enumerate(zip(a, b)):
        if m != n and 1 not in (m, n):
            raise c.bad(f"input 0 {list(x.shape)} and input 1 {list(y.shape)} do not broadcast "
                        f"(dimension {d - rank}: {m} vs {n})")


def _elementwise(kind: OpKind) -> Callable:
    def convert(c: OpContext):
        x, y = c.input(0), c.input(1)
        _broadcast(c, x, y)
        # ADD / SUB carry pot_scale_int16 (schema default true); MUL has no such option
        pot = bool(c.op.options.get("PotScaleInt16", True))
        return kind, ir.ElementwiseAttrs(c.activation(), pot), c.op.inputs[:2]
    return convert


def _transpose_padding(code: int, size: int, filt: int, stride: int) -> int:
    """Leading padding of one spatial axis as TFLM derives it for TRANSPOSE_CONV: the windowed-output
    formulas applied with the output size in the role of the input size."""
    if code == _SAME:
        n = (size + stride - 1) // stride
    else:
        n = (size + stride - filt) // stride
    return max((n - 1) * stride + filt - size, 0) // 2


def _transpose_conv(c: OpContext):
    if len(c.op.inputs) not in (3, 4):
        raise c.bad(f"expects 3 or 4 inputs (output_shape, filter, input[, bias]), got {len(c.op.inputs)}")
    w, x, y = c.input(1, rank=4), c.input(2, rank=4), c.output(rank=4)
    sh, sw = c.positive("StrideH", "StrideW")
    if w.shape[3] != x.shape[3] or w.shape[0] != y.shape[3] or x.shape[0] != y.shape[0]:
        raise c.bad(f"filter {list(w.shape)} does not fit input {list(x.shape)} and output {list(y.shape)}")
    code = int(c.op.options["Padding"])
    if code not in (_SAME, _VALID):
        raise c.bad(f"padding {code} is neither SAME nor VALID")
    top = _transpose_padding(code, y.shape[1], w.shape[1], sh)
    left = _transpose_padding(code, y.shape[2], w.shape[2], sw)
    ins = c.op.inputs
    bias = ins[3] if len(ins) > 3 and ins[3] >= 0 else None
    attrs = ir.TransposeConvAttrs(sh, sw, Padding(top, 0, left, 0), c.activation())
    return OpKind.TRANSPOSE_CONV, attrs, [ins[2], ins[1], bias]


_INT_LOWEST, _INT_MAX = -(1 << 31), (1 << 31) - 1


def _strided_slice(c: OpContext):
    x, y = c.input(0), c.output()
    rank = len(x.shape)
    begin, end, strides = (c.int_const(k, f).reshape(-1).astype(np.int64).tolist()
                           for k, f in ((1, "begin"), (2, "end"), (3, "strides")))
    o = c.op.options
    if o["EllipsisMask"] or o["NewAxisMask"]:
        raise c.unsupported("ellipsis_mask and new_axis_mask are not supported")
    if o["Offset"]:
        raise c.unsupported("offset = true is not supported")
    if not len(begin) == len(end) == len(strides) == rank:
        raise c.unsupported(f"begin/end/strides of length {len(begin)}/{len(end)}/{len(strides)} "
                            f"for a rank {rank} input (must equal the rank)")
    bs, es, ss, shrink = [], [], [], []
    for d in range(rank):
        n, s = x.shape[d], strides[d]
        if s == 0:
            raise c.bad(f"stride of dimension {d} is 0")
        start = begin[d]
        if o["BeginMask"] >> d & 1:
            start = _INT_LOWEST if s > 0 else _INT_MAX
        if start < 0:
            start += n
        start = min(max(start, 0), n) if s > 0 else min(max(start, -1), n - 1)
        if o["ShrinkAxisMask"] >> d & 1:
            if s < 0 or not 0 <= start < n:
                raise c.unsupported(f"shrinking dimension {d} at index {begin[d]} with stride {s}")
            stop, s = start + 1, 1
            shrink.append(d)
        else:
            stop = end[d]
            if o["EndMask"] >> d & 1:
                stop = _INT_MAX if s > 0 else _INT_LOWEST
            if stop < 0:
                stop += n
            stop = min(max(stop, 0), n) if s > 0 else min(max(stop, -1), n - 1)
        bs.append(int(start))
        es.append(int(stop))
        ss.append(int(s))
    shape = tuple(len(range(b, e, s)) for d, (b, e, s) in enumerate(zip(bs, es, ss)) if d not in shrink)
    if int(np.prod(shape, dtype=np.int64)) != int(np.prod(y.shape, dtype=np.int64)):
        raise c.bad(f"output '{y.name}' {list(y.shape)} does not hold the slice {list(shape)}")
    attrs = ir.StridedSliceAttrs(tuple(bs), tuple(es), tuple(ss), tuple(shrink))
    return OpKind.STRIDED_SLICE, attrs, [c.op.inputs[0]]


def _concat(c: OpContext):
    rank = len(c.output().shape)
    axis = int(c.op.options["Axis"])
    if not -rank <= axis < rank:
        raise c.bad(f"axis {axis} is out of range for rank {rank}")
    return OpKind.CONCATENATION, ir.ConcatAttrs(axis % rank, c.activation()), list(c.op.inputs)


def _pad(c: OpContext):
    rank = len(c.input(0).shape)
    p = c.int_const(1, "paddings").astype(np.int64)
    if p.shape != (rank, 2) or np.any(p < 0):
        raise c.bad(f"paddings {p.tolist()} must be {rank} non-negative (before, after) pairs")
    pairs = tuple((int(a), int(b)) for a, b in p)
    keep = [c.op.inputs[0]]
    if c.op.opname == "PADV2" and len(c.op.inputs) > 2 and c.op.inputs[2] >= 0:
        keep.append(c.op.inputs[2])
    return OpKind.PAD, ir.PadAttrs(pairs), keep


def _mean(c: OpContext):
    rank = len(c.input(0).shape)
    axes = c.int_const(1, "axes").reshape(-1).astype(np.int64).tolist()
    if any(not -rank <= a < rank for a in axes):
        raise c.bad(f"axes {axes} out of range for rank {rank}")
    norm = tuple(sorted({a % rank for a in axes}))
    return OpKind.MEAN, ir.MeanAttrs(norm, bool(c.op.options["KeepDims"])), [c.op.inputs[0]]


def _reshape(c: OpContext):
    x, out = c.input(0), c.output()
    if int(np.prod(x.shape, dtype=np.int64)) != int(np.prod(out.shape, dtype=np.int64)):
        raise c.bad(f"reshape from {list(x.shape)} to {list(out.shape)} changes the element count")
    return OpKind.RESHAPE, ir.ReshapeAttrs(), [c.op.inputs[0]]


def _unary(kind: OpKind) -> Callable:
    def convert(c: OpContext):
        c.input(0)
        return kind, ir.NoAttrs(), [c.op.inputs[0]]
    return convert


def _softmax(c: OpContext):
    c.input(0)
    return OpKind.SOFTMAX, ir.SoftmaxAttrs(float(np.float32(c.op.options["Beta"]))), [c.op.inputs[0]]


def _leaky_relu(c: OpContext):
    c.input(0)
    return OpKind.LEAKY_RELU, ir.LeakyReluAttrs(float(np.float32(c.op.options["Alpha"]))), [c.op.inputs[0]]


CONVERTERS = {
    "CONV_2D": _conv,
    "DEPTHWISE_CONV_2D": _depthwise,
    "FULLY_CONNECTED": _fully_connected,
    "AVERAGE_POOL_2D": _pool(OpKind.AVERAGE_POOL_2D),
    "MAX_POOL_2D": _pool(OpKind.MAX_POOL_2D),
    "ADD": _elementwise(OpKind.ADD),
    "SUB": _elementwise(OpKind.SUB),
    "MUL": _elementwise(OpKind.MUL),
    "CONCATENATION": _concat,
    "PAD": _pad,
    "PADV2": _pad,
    "MEAN": _mean,
    "RESHAPE": _reshape,
    "EXPAND_DIMS": _reshape,
    "SQUEEZE": _reshape,
    "SOFTMAX": _softmax,
    "LOGISTIC": _unary(OpKind.LOGISTIC),
    "TANH": _unary(OpKind.TANH),
    "RELU": _unary(OpKind.RELU),
    "RELU6": _unary(OpKind.RELU6),
    "LEAKY_RELU": _leaky_relu,
    "HARD_SWISH": _unary(OpKind.HARD_SWISH),
    "QUANTIZE": _unary(OpKind.QUANTIZE),
    "DEQUANTIZE": _unary(OpKind.DEQUANTIZE),
    "TRANSPOSE_CONV": _transpose_conv,
    "STRIDED_SLICE": _strided_slice,
}


def convert_op(op: RawOp, tensors: list, source: str, layer: str) -> tuple:
    """(OpKind, attrs, input tensor indices with None for absent) for one operator."""
    c = OpContext(op, tensors, source, layer)
    if op.opname not in CONVERTERS:
        raise c.unsupported(f"operator {op.opname} is not supported by tinygen")
    if len(op.outputs) != 1:
        raise c.bad(f"expected 1 output, found {len(op.outputs)}")
    kind, attrs, inputs = CONVERTERS[op.opname](c)
    return kind, attrs, [None if i is None or i < 0 else i for i in inputs]
