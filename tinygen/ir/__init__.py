"""Typed IR: tensors, ops with one attrs class per op kind, and the graph that holds them.

Conventions (shared by both frontends, all passes and all kernels):
- Activations are NHWC. Conv filters are OHWI, depthwise filters 1HW(C*M), dense weights (out, in),
  exactly as in a TFLite flatbuffer.
- Padding is explicit (top, bottom, left, right), computed by the frontend the TFLite way.
- A fused activation is an attribute of its producer (`Activation`).
- Constant tensors carry `data`; quantized tensors carry `QuantParams`.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import Enum
from typing import Optional, Union

import numpy as np


class OpKind(str, Enum):
    CONV_2D = "CONV_2D"
    DEPTHWISE_CONV_2D = "DEPTHWISE_CONV_2D"
    FULLY_CONNECTED = "FULLY_CONNECTED"
    AVERAGE_POOL_2D = "AVERAGE_POOL_2D"
    MAX_POOL_2D = "MAX_POOL_2D"
    ADD = "ADD"
    SUB = "SUB"
    MUL = "MUL"
    CONCATENATION = "CONCATENATION"
    PAD = "PAD"
    MEAN = "MEAN"
    RESHAPE = "RESHAPE"
    SOFTMAX = "SOFTMAX"
    LOGISTIC = "LOGISTIC"
    TANH = "TANH"
    RELU = "RELU"
    RELU6 = "RELU6"
    LEAKY_RELU = "LEAKY_RELU"
    HARD_SWISH = "HARD_SWISH"
    QUANTIZE = "QUANTIZE"
    DEQUANTIZE = "DEQUANTIZE"
    TRANSPOSE_CONV = "TRANSPOSE_CONV"
    STRIDED_SLICE = "STRIDED_SLICE"
    SUM = "SUM"
    REDUCE_MAX = "REDUCE_MAX"
    REDUCE_MIN = "REDUCE_MIN"
    ARG_MAX = "ARG_MAX"
    ARG_MIN = "ARG_MIN"
    CUMSUM = "CUMSUM"
    BATCH_MATMUL = "BATCH_MATMUL"
    ABS = "ABS"
    RSQRT = "RSQRT"
    ELU = "ELU"
    SQUARED_DIFFERENCE = "SQUARED_DIFFERENCE"
    DIV = "DIV"
    LOG_SOFTMAX = "LOG_SOFTMAX"
    L2_NORMALIZATION = "L2_NORMALIZATION"
    EQUAL = "EQUAL"
    NOT_EQUAL = "NOT_EQUAL"
    LESS = "LESS"
    LESS_EQUAL = "LESS_EQUAL"
    GREATER = "GREATER"
    GREATER_EQUAL = "GREATER_EQUAL"
    SELECT_V2 = "SELECT_V2"
    LOGICAL_AND = "LOGICAL_AND"
    LOGICAL_OR = "LOGICAL_OR"
    LOGICAL_NOT = "LOGICAL_NOT"
    TRANSPOSE = "TRANSPOSE"
    DEPTH_TO_SPACE = "DEPTH_TO_SPACE"
    SPACE_TO_DEPTH = "SPACE_TO_DEPTH"
    PACK = "PACK"
    GATHER = "GATHER"
    GATHER_ND = "GATHER_ND"
    UNIDIRECTIONAL_SEQUENCE_LSTM = "UNIDIRECTIONAL_SEQUENCE_LSTM"
    READ_VARIABLE = "READ_VARIABLE"
    ASSIGN_VARIABLE = "ASSIGN_VARIABLE"
    SVDF = "SVDF"
    SPACE_TO_BATCH_ND = "SPACE_TO_BATCH_ND"
    BATCH_TO_SPACE_ND = "BATCH_TO_SPACE_ND"
    MIRROR_PAD = "MIRROR_PAD"
    REVERSE_V2 = "REVERSE_V2"
    BROADCAST_TO = "BROADCAST_TO"
    RESIZE_NEAREST_NEIGHBOR = "RESIZE_NEAREST_NEIGHBOR"
    RESIZE_BILINEAR = "RESIZE_BILINEAR"
    PRELU = "PRELU"
    MAXIMUM = "MAXIMUM"
    MINIMUM = "MINIMUM"
    GRU = "GRU"  # tinygen's own: no TFLite builtin (exported as its unrolled steps, tinygen/ops/gru.py)
    RNN = "RNN"  # tinygen's own: SimpleRNN (likewise)
    LUT = "LUT"  # tinygen's own: an element-wise function as a table (no TFLite builtin)
    DETECTION_POSTPROCESS = "DETECTION_POSTPROCESS"  # TFLite custom op TFLite_Detection_PostProcess
    # float-only ops that passes remove before quantization
    BATCH_NORM = "BATCH_NORM"


class Activation(str, Enum):
    NONE = "NONE"
    RELU = "RELU"
    RELU6 = "RELU6"
    RELU_N1_TO_1 = "RELU_N1_TO_1"


@dataclass(frozen=True)
class Padding:
    top: int = 0
    bottom: int = 0
    left: int = 0
    right: int = 0


@dataclass(frozen=True)
class Conv2DAttrs:
    stride_h: int
    stride_w: int
    dilation_h: int = 1
    dilation_w: int = 1
    padding: Padding = Padding()
    activation: Activation = Activation.NONE


@dataclass(frozen=True)
class DepthwiseConv2DAttrs:
    stride_h: int
    stride_w: int
    depth_multiplier: int = 1
    dilation_h: int = 1
    dilation_w: int = 1
    padding: Padding = Padding()
    activation: Activation = Activation.NONE


@dataclass(frozen=True)
class FullyConnectedAttrs:
    activation: Activation = Activation.NONE
    keep_num_dims: bool = False


@dataclass(frozen=True)
class Pool2DAttrs:
    filter_h: int
    filter_w: int
    stride_h: int
    stride_w: int
    padding: Padding = Padding()
    activation: Activation = Activation.NONE


@dataclass(frozen=True)
class ElementwiseAttrs:
    """ADD, SUB, MUL: numpy-style broadcasting between the two inputs.

    `pot_scale_int16` is ADD/SUB's TFLite option (schema default true) recorded as the file says it;
    TFLM's int16 ADD/SUB always take the general-scale path, so the kernels only report it.
    """
    activation: Activation = Activation.NONE
    pot_scale_int16: bool = True


@dataclass(frozen=True)
class TransposeConvAttrs:
    """TRANSPOSE_CONV: inputs (input, filter OHWI, bias or None); the output tensor's shape is the
    output size (the TFLite output_shape operand is not kept, as in TFLM). Padding holds the
    (top, left) amounts TFLM derives from the output size; bottom/right are implied by it."""
    stride_h: int
    stride_w: int
    padding: Padding = Padding()
    activation: Activation = Activation.NONE


@dataclass(frozen=True)
class StridedSliceAttrs:
    """STRIDED_SLICE resolved against the input shape: per input dimension the first index, the
    stop (exclusive, Python-range style, may be -1 for negative strides) and the stride; dimensions in
    `shrink_axes` keep one element and are dropped from the output shape."""
    begin: tuple
    end: tuple
    strides: tuple
    shrink_axes: tuple = ()


@dataclass(frozen=True)
class ConcatAttrs:
    axis: int  # non-negative
    activation: Activation = Activation.NONE


@dataclass(frozen=True)
class PadAttrs:
    paddings: tuple  # ((before, after), ...) one pair per dimension


@dataclass(frozen=True)
class MeanAttrs:
    axes: tuple  # non-negative, sorted
    keep_dims: bool


@dataclass(frozen=True)
class ReshapeAttrs:
    """RESHAPE, EXPAND_DIMS, SQUEEZE and Flatten: the output shape says it all."""


@dataclass(frozen=True)
class SoftmaxAttrs:
    beta: float = 1.0


@dataclass(frozen=True)
class LeakyReluAttrs:
    alpha: float


@dataclass(frozen=True)
class NoAttrs:
    """Ops whose behaviour is fixed by their tensors (LOGISTIC, TANH, RELU, QUANTIZE, ...)."""


@dataclass(frozen=True)
class BatchNormAttrs:
    epsilon: float
    # gamma, beta, mean, variance are the op's constant inputs 1..4


Attrs = Union[Conv2DAttrs, DepthwiseConv2DAttrs, FullyConnectedAttrs, Pool2DAttrs, ElementwiseAttrs,
              ConcatAttrs, PadAttrs, MeanAttrs, ReshapeAttrs, SoftmaxAttrs, LeakyReluAttrs, NoAttrs,
              BatchNormAttrs, TransposeConvAttrs, StridedSliceAttrs]


@dataclass(frozen=True)
class QuantParams:
    """Affine quantization r = scale * (q - zero_point); per-axis when len(scale) > 1."""
    scale: tuple  # python floats holding float32 values
    zero_point: tuple  # python ints
    axis: Optional[int] = None

    @property
    def per_axis(self) -> bool:
        return len(self.scale) > 1

    @staticmethod
    def make(scale, zero_point, axis: Optional[int] = None) -> "QuantParams":
        s = tuple(float(np.float32(x)) for x in np.atleast_1d(np.asarray(scale, dtype=np.float64)))
        z = tuple(int(x) for x in np.atleast_1d(np.asarray(zero_point)))
        if len(z) == 1 and len(s) > 1:
            z = z * len(s)
        return QuantParams(s, z, axis if len(s) > 1 else None)


@dataclass
class Tensor:
    name: str
    shape: tuple
    dtype: str  # numpy dtype name: float32, int8, int16, int32, int64, uint8
    quant: Optional[QuantParams] = None
    data: Optional[np.ndarray] = None  # constant value, already of `dtype`
    # How a constant int8 weight tensor is stored in flash: None (plain int8) or a low-bit scheme
    # ("int4", "kmeans4", "kmeans3", "kmeans2", "ternary", "binary"); `data` still holds the int8
    # values the scheme decodes to, so every reference sees ordinary int8 weights.
    encoding: Optional[str] = None
    # State that persists across invokes (a TFLite variable tensor, or a resource variable's storage):
    # it lives outside the reusable arena; `data`, when set, is its value after a reset (else zeros).
    variable: bool = False

    @property
    def is_const(self) -> bool:
        return self.data is not None and not self.variable  # a variable's data is its reset value

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    @property
    def nbytes(self) -> int:
        return self.size * np.dtype(self.dtype).itemsize

    @property
    def scale(self) -> float:
        assert self.quant is not None, f"tensor {self.name} is not quantized"
        return self.quant.scale[0]

    @property
    def zero_point(self) -> int:
        assert self.quant is not None, f"tensor {self.name} is not quantized"
        return self.quant.zero_point[0]


@dataclass
class Op:
    kind: OpKind
    name: str  # the layer name the user knows
    inputs: list  # tensor names; None for an absent optional input (e.g. no bias)
    outputs: list
    attrs: Attrs = field(default_factory=NoAttrs)


@dataclass
class Graph:
    tensors: dict  # name -> Tensor
    ops: list  # Op, in execution order
    inputs: list  # tensor names
    outputs: list  # tensor names
    name: str = "model"
    source: str = ""  # file the graph came from, for messages
    warnings: list = field(default_factory=list)  # notes for the user (e.g. synthetic calibration)
    quant_report: dict = field(default_factory=dict)  # per-tensor quantization choices
    mixed: dict = field(default_factory=dict)  # how --mixed auto chose the weight schemes (for the report)

    def tensor(self, name: str) -> Tensor:
        return self.tensors[name]

    def producers(self) -> dict:
        return {t: op for op in self.ops for t in op.outputs}

    def consumers(self) -> dict:
        out: dict = {}
        for op in self.ops:
            for t in op.inputs:
                if t is not None:
                    out.setdefault(t, []).append(op)
        return out

    def copy(self) -> "Graph":
        tensors = {k: dataclasses.replace(v) for k, v in self.tensors.items()}
        ops = [dataclasses.replace(o, inputs=list(o.inputs), outputs=list(o.outputs)) for o in self.ops]
        return Graph(tensors, ops, list(self.inputs), list(self.outputs), self.name, self.source,
                     list(self.warnings), dict(self.quant_report), dict(self.mixed))

    def unique_name(self, base: str) -> str:
        name, i = base, 1
        while name in self.tensors:
            name = f"{base}_{i}"
            i += 1
        return name

    def remove_unused_tensors(self) -> None:
        used = set(self.inputs) | set(self.outputs)
        for op in self.ops:
            used.update(t for t in op.inputs if t is not None)
            used.update(op.outputs)
        self.tensors = {k: v for k, v in self.tensors.items() if k in used}


def same_padding(in_size: int, filter_size: int, stride: int, dilation: int = 1) -> tuple:
    """TFLite SAME padding: (before, after, out_size); the extra odd pixel goes after."""
    eff = (filter_size - 1) * dilation + 1
    out = (in_size + stride - 1) // stride
    total = max((out - 1) * stride + eff - in_size, 0)
    return total // 2, total - total // 2, out


def valid_out(in_size: int, filter_size: int, stride: int, dilation: int = 1) -> int:
    eff = (filter_size - 1) * dilation + 1
    return (in_size - eff + stride) // stride


def verify(graph: Graph, stage: str) -> None:
    """Check the graph's structure between stages; raise naming the op that broke it."""
    from tinygen.errors import TinygenError

    defined = set(graph.inputs) | {n for n, t in graph.tensors.items() if t.is_const or t.variable}
    for op in graph.ops:
        for t in op.inputs:
            if t is None:
                continue
            if t not in graph.tensors:
                raise TinygenError(f"[{stage}] layer '{op.name}' ({op.kind.value}): unknown input tensor '{t}'")
            if t not in defined:
                raise TinygenError(f"[{stage}] layer '{op.name}' ({op.kind.value}): input '{t}' used before it is produced")
        for t in op.outputs:
            if t not in graph.tensors:
                raise TinygenError(f"[{stage}] layer '{op.name}' ({op.kind.value}): unknown output tensor '{t}'")
            defined.add(t)
    for t in graph.outputs:
        if t not in defined:
            raise TinygenError(f"[{stage}] model output '{t}' is never produced")
