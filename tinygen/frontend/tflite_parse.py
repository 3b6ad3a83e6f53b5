"""Read subgraph 0 of a .tflite flatbuffer into plain Python records (no TF interpreter).

Every flatbuffer access happens here, under `FieldTracker`, so a truncated or garbage file
surfaces as one `ModelFormatError` naming the file and the field being read.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Optional

import flatbuffers
import numpy as np
import tflite
from tflite.BuiltinOptions import BuiltinOptions
from tflite.TensorType import TensorType
from tflite.utils import BUILTIN_OPCODE2NAME

from ..errors import ModelFormatError, TinygenError, UnsupportedError
from ..ir import QuantParams

IDENTIFIER = b"TFL3"
MAX_TENSOR_BYTES = 1 << 31  # no microcontroller tensor comes near this: larger means garbage

DTYPES = {
    TensorType.FLOAT32: "float32", TensorType.INT32: "int32", TensorType.UINT8: "uint8",
    TensorType.INT64: "int64", TensorType.INT16: "int16", TensorType.INT8: "int8",
    TensorType.BOOL: "bool",
}
_TYPE_NAMES = {v: k for k, v in vars(TensorType).items() if not k.startswith("_")}

# builtin op name -> (options table name, accessor methods copied into RawOp.options)
OPTION_FIELDS = {
    "CONV_2D": ("Conv2DOptions", ("Padding", "StrideW", "StrideH", "FusedActivationFunction",
                                  "DilationWFactor", "DilationHFactor")),
    "DEPTHWISE_CONV_2D": ("DepthwiseConv2DOptions", (
        "Padding", "StrideW", "StrideH", "DepthMultiplier", "FusedActivationFunction",
        "DilationWFactor", "DilationHFactor")),
    "FULLY_CONNECTED": ("FullyConnectedOptions", ("FusedActivationFunction", "WeightsFormat",
                                                  "KeepNumDims")),
    "AVERAGE_POOL_2D": ("Pool2DOptions", ("Padding", "StrideW", "StrideH", "FilterWidth",
                                          "FilterHeight", "FusedActivationFunction")),
    "ADD": ("AddOptions", ("FusedActivationFunction", "PotScaleInt16")),
    "SUB": ("SubOptions", ("FusedActivationFunction", "PotScaleInt16")),
    "MUL": ("MulOptions", ("FusedActivationFunction",)),
    "CONCATENATION": ("ConcatenationOptions", ("Axis", "FusedActivationFunction")),
    "MEAN": ("ReducerOptions", ("KeepDims",)),
    "SOFTMAX": ("SoftmaxOptions", ("Beta",)),
    "LEAKY_RELU": ("LeakyReluOptions", ("Alpha",)),
    "STRIDED_SLICE": ("StridedSliceOptions", ("BeginMask", "EndMask", "EllipsisMask",
                                              "NewAxisMask", "ShrinkAxisMask", "Offset")),
    "PACK": ("PackOptions", ("ValuesCount", "Axis")),
    "TRANSPOSE_CONV": ("TransposeConvOptions", ("Padding", "StrideW", "StrideH", "FusedActivationFunction")),
    "GATHER": ("GatherOptions", ("Axis", "BatchDims")),
}
OPTION_FIELDS["MAX_POOL_2D"] = OPTION_FIELDS["AVERAGE_POOL_2D"]


@dataclass
class RawTensor:
    index: int
    name: str
    shape: tuple
    dtype: str
    quant: Optional[QuantParams] = None
    data: Optional[np.ndarray] = None


@dataclass
class RawOp:
    index: int
    opname: str  # builtin name, or "CUSTOM(<code>)"
    inputs: list  # tensor indices, -1 for an absent optional input
    outputs: list
    options: dict = field(default_factory=dict)


@dataclass
class RawModel:
    source: str
    tensors: list  # RawTensor by index
    ops: list  # RawOp in execution order
    inputs: list  # tensor indices
    outputs: list


class FieldTracker:
    """Remembers which field is being read; turns low-level failures into ModelFormatError."""

    def __init__(self, source: str):
        self.source = source
        self.field = "file header"

    def fail(self, msg: str) -> ModelFormatError:
        return ModelFormatError(f"{self.source}: {self.field}: {msg}")

    def __enter__(self) -> "FieldTracker":
        return self

    def __exit__(self, kind, exc, tb) -> bool:
        if exc is None or isinstance(exc, TinygenError):
            return False
        if isinstance(exc, (IndexError, struct.error, ValueError, TypeError, OverflowError,
                            UnicodeDecodeError, AttributeError, MemoryError, KeyError)):
            raise self.fail(f"malformed flatbuffer ({type(exc).__name__}: {exc})") from exc
        return False


def _default_options(cls_name: str):
    """An options table with every field absent, so each accessor returns the schema default."""
    b = flatbuffers.Builder(16)
    b.StartObject(0)
    b.Finish(b.EndObject())
    cls = getattr(tflite, cls_name)
    return cls.GetRootAs(bytes(b.Output()), 0)


def _count(ft: FieldTracker, n: int, buf_len: int, what: str) -> int:
    # each vector element takes at least one byte (tables at least four): a larger count is garbage
    if n < 0 or n > buf_len:
        raise ft.fail(f"{what} count {n} is impossible for a {buf_len}-byte file")
    return n


def _decode(raw: Optional[bytes]) -> Optional[str]:
    return None if raw is None else raw.decode("utf-8", errors="replace")


def parse(buf: bytes, source: str) -> RawModel:
    """Parse `buf`, raising ModelFormatError (file + field) for anything malformed."""
    ft = FieldTracker(source)
    if len(buf) < 8:
        raise ft.fail(f"file is {len(buf)} bytes, too short for a TFLite flatbuffer")
    if buf[4:8] != IDENTIFIER:
        raise ft.fail(f"file identifier is {bytes(buf[4:8])!r}, expected {IDENTIFIER!r} (not a .tflite file)")
    with ft:
        ft.field = "root table"
        (root,) = struct.unpack_from("<I", buf, 0)
        if root + 4 > len(buf):
            raise ft.fail(f"root offset {root} is past the end of the {len(buf)}-byte file")
        model = tflite.Model.GetRootAs(buf, 0)
        ft.field = "Model.subgraphs"
        if _count(ft, model.SubgraphsLength(), len(buf), "subgraph") == 0:
            raise ft.fail("the model has no subgraph")
        sg = model.Subgraphs(0)
        ft.field = "Model.buffers"
        n_buffers = _count(ft, model.BuffersLength(), len(buf), "buffer")
        for b in range(n_buffers):  # touch every buffer table so a cut-off tail is noticed
            ft.field = f"Model.buffers[{b}]"
            _count(ft, model.Buffers(b).DataLength(), len(buf), "data byte")
        ft.field = "SubGraph[0].tensors"
        n_tensors = _count(ft, sg.TensorsLength(), len(buf), "tensor")
        tensors = [_tensor(ft, model, sg, i, n_buffers, buf) for i in range(n_tensors)]
        ft.field = "Model.operator_codes"
        n_codes = _count(ft, model.OperatorCodesLength(), len(buf), "operator code")
        opnames = [_opname(ft, model, i) for i in range(n_codes)]
        ft.field = "SubGraph[0].operators"
        n_ops = _count(ft, sg.OperatorsLength(), len(buf), "operator")
        ops = [_op(ft, sg, i, opnames, n_tensors) for i in range(n_ops)]
        ft.field = "SubGraph[0].inputs"
        inputs = _indices(ft, sg.InputsAsNumpy(), n_tensors, allow_absent=False)
        ft.field = "SubGraph[0].outputs"
        outputs = _indices(ft, sg.OutputsAsNumpy(), n_tensors, allow_absent=False)
    return RawModel(source, tensors, ops, inputs, outputs)


def _indices(ft: FieldTracker, arr, n_tensors: int, allow_absent: bool) -> list:
    if isinstance(arr, int):  # the tflite package returns 0 for an absent vector
        return []
    out = []
    for j, v in enumerate(np.asarray(arr).tolist()):
        if v == -1 and allow_absent:
            out.append(-1)
        elif not 0 <= v < n_tensors:
            raise ft.fail(f"entry {j} is tensor index {v}, out of range (the subgraph has {n_tensors} tensors)")
        else:
            out.append(v)
    return out


def _tensor(ft: FieldTracker, model, sg, i: int, n_buffers: int, buf: bytes) -> RawTensor:
    ft.field = f"SubGraph[0].tensors[{i}]"
    t = sg.Tensors(i)
    name = _decode(t.Name()) or f"tensor_{i}"
    ft.field = f"tensor {i} '{name}'"
    shape_arr = t.ShapeAsNumpy()
    shape = () if isinstance(shape_arr, int) else tuple(int(d) for d in shape_arr)
    if any(d < 0 for d in shape):
        raise ft.fail(f"shape {list(shape)} has a negative dimension")
    ttype = t.Type()
    if ttype not in DTYPES:
        raise UnsupportedError(f"{ft.source}: tensor '{name}' has type "
                               f"{_TYPE_NAMES.get(ttype, ttype)}, which tinygen does not support")
    dtype = DTYPES[ttype]
    if int(np.prod(shape, dtype=np.float64)) * np.dtype(dtype).itemsize > MAX_TENSOR_BYTES:
        raise ft.fail(f"shape {list(shape)} of {dtype} is larger than {MAX_TENSOR_BYTES} bytes")
    quant = _quant(ft, t.Quantization(), shape, len(buf))
    data = None
    b = t.Buffer()
    if not 0 <= b < n_buffers:
        raise ft.fail(f"buffer index {b} out of range (the model has {n_buffers} buffers)")
    if b != 0:
        data = _buffer_data(ft, model.Buffers(b), b, shape, dtype, buf)
    return RawTensor(i, name, shape, dtype, quant, data)


def _quant(ft: FieldTracker, q, shape: tuple, buf_len: int) -> Optional[QuantParams]:
    if q is None or q.ScaleLength() == 0:
        return None
    n = _count(ft, q.ScaleLength(), buf_len, "quantization scale")
    scale = np.asarray(q.ScaleAsNumpy(), dtype=np.float32)
    zp = q.ZeroPointAsNumpy()
    zp = np.zeros(n, np.int64) if isinstance(zp, int) else np.asarray(zp, dtype=np.int64)
    if len(zp) not in (1, n):
        raise ft.fail(f"quantization has {n} scales but {len(zp)} zero points")
    axis = None
    if n > 1:
        axis = int(q.QuantizedDimension())
        if len(shape) == 1 and shape[0] == n:
            axis = 0  # person_detect's depthwise biases repeat their weights' axis 3: rank 1 has one axis
        if not 0 <= axis < len(shape) or shape[axis] != n:
            raise ft.fail(f"per-axis quantization with {n} scales on quantized_dimension {axis} "
                          f"does not match shape {list(shape)}")
    return QuantParams.make(scale, zp, axis)


def _buffer_data(ft: FieldTracker, buffer, b: int, shape: tuple, dtype: str, buf: bytes):
    ft.field += f" buffer {b}"
    offset, size = int(buffer.Offset()), int(buffer.Size())
    if offset > 1:  # large models keep data outside the flatbuffer, offset from the file start
        if offset + size > len(buf):
            raise ft.fail(f"data [{offset}, {offset + size}) lies past the end of the {len(buf)}-byte file")
        raw = bytes(buf[offset:offset + size])
    else:
        n = _count(ft, buffer.DataLength(), len(buf), "data byte")
        if n == 0:
            return None
        raw = buffer.DataAsNumpy().tobytes()
    dt = np.dtype(dtype).newbyteorder("<")
    expected = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
    if len(raw) != expected:
        raise ft.fail(f"holds {len(raw)} bytes but shape {list(shape)} of {dtype} needs {expected}")
    return np.frombuffer(raw, dtype=dt).astype(dtype).reshape(shape)


def _opname(ft: FieldTracker, model, i: int) -> str:
    ft.field = f"Model.operator_codes[{i}]"
    oc = model.OperatorCodes(i)
    code = oc.BuiltinCode()
    if code == tflite.BuiltinOperator.CUSTOM:
        return f"CUSTOM({_decode(oc.CustomCode())})"
    return BUILTIN_OPCODE2NAME.get(code, f"BUILTIN_{code}")


def _op(ft: FieldTracker, sg, i: int, opnames: list, n_tensors: int) -> RawOp:
    ft.field = f"SubGraph[0].operators[{i}]"
    op = sg.Operators(i)
    k = op.OpcodeIndex()
    if not 0 <= k < len(opnames):
        raise ft.fail(f"opcode_index {k} out of range (the model has {len(opnames)} operator codes)")
    name = opnames[k]
    ft.field = f"operator {i} ({name}) inputs"
    inputs = _indices(ft, op.InputsAsNumpy(), n_tensors, allow_absent=True)
    ft.field = f"operator {i} ({name}) outputs"
    outputs = _indices(ft, op.OutputsAsNumpy(), n_tensors, allow_absent=False)
    ft.field = f"operator {i} ({name}) builtin_options"
    return RawOp(i, name, inputs, outputs, _options(ft, op, name))


def _options(ft: FieldTracker, op, name: str) -> dict:
    if name not in OPTION_FIELDS:
        return {}
    cls_name, fields = OPTION_FIELDS[name]
    table = op.BuiltinOptions()
    if table is None:
        opts = _default_options(cls_name)
    else:
        expected = getattr(BuiltinOptions, cls_name)
        if op.BuiltinOptionsType() != expected:
            raise ft.fail(f"options type {op.BuiltinOptionsType()}, expected {cls_name} ({expected})")
        opts = getattr(tflite, cls_name)()
        opts.Init(table.Bytes, table.Pos)
    return {f: getattr(opts, f)() for f in fields}
