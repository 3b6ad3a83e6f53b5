"""Write a quantized tinygen graph back out as a .tflite flatbuffer that TFLM can run.

`export_tflite(out_dir_or_graph, path)` takes a build folder (its saved graph in OUT/.tinygen) or an
ir.Graph. The file is an outside oracle: TFLM's interpreter on it must equal tinygen's generated C.
Each op is written by its spec's `export` rule (tinygen/ops); this module owns tensors, buffers and bytes.
Explicit convolution padding that is neither SAME nor VALID becomes a PAD op followed by a VALID conv.
Low-bit filters (int4, k-means, ternary, binary) are written as the int8 values they hold; their kernels'
19-bit multipliers are TFLM's exactly (the quantizer snaps the filter scales, tinygen/quant/snap.py; a layer
whose scales were not snapped is refused). A ternary or binary filter that its kernel runs as 0 and +-2^k
(lowbit_x.weight_shift, found by lowering the op as the build does) is written as those values, with its
scales over 2^k and its bias times 2^k: the same arithmetic, so TFLM on the file matches the C bit for bit.
"""
from __future__ import annotations

import importlib
import os
import tempfile
from pathlib import Path
from typing import Union

import flatbuffers
import numpy as np
from tflite.BuiltinOperator import BuiltinOperator
from tflite.BuiltinOptions import BuiltinOptions
from tflite.TensorType import TensorType

from tinygen import ir
from tinygen.errors import TinygenError, UnsupportedError
from tinygen.ir import Graph
from tinygen.ops.spec import applies, spec_for

_TYPES = {"float32": TensorType.FLOAT32, "int32": TensorType.INT32, "uint8": TensorType.UINT8,
          "int64": TensorType.INT64, "int16": TensorType.INT16, "int8": TensorType.INT8,
          "bool": TensorType.BOOL}
_BUFFER_ALIGN = 16


def export_tflite(source: Union[Graph, str, os.PathLike], path: Union[str, os.PathLike]) -> Path:
    """Write `source` (a build folder or a quantized ir.Graph) to `path` as a .tflite file; returns the path."""
    if isinstance(source, Graph):
        graph = source
    else:
        from tinygen.ir import serialize

        folder = Path(source)
        saved = folder / ".tinygen" if (folder / ".tinygen").is_dir() else folder
        if not (saved / "graph.json").is_file():
            raise TinygenError(f"{folder}: no saved graph (.tinygen/graph.json); run `tinygen build` first")
        graph = serialize.load(saved)
    data = to_bytes(graph)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def to_bytes(graph: Graph) -> bytes:
    """The .tflite flatbuffer for `graph` (one subgraph)."""
    w = _Writer(graph)
    for op in graph.ops:
        w.add_op(op)
    return w.finish()


def _weight_shift_overrides(graph: Graph) -> dict:
    """{tensor name: (data, quant)} for the filters and biases of ternary / binary layers whose kernel runs
    the values as 0 and +-2^k: the op is lowered as the build lowers it, which decides k. Refuses a low-bit
    layer whose TFLM multipliers its 19-bit ones do not hold exactly."""
    from tinygen.lower.lowbit import LowBitKernel

    from tinygen.quant import snap

    kernel, out, shifts = LowBitKernel(), {}, {}
    for op in graph.ops:
        if len(op.inputs) < 2 or op.inputs[1] is None:
            continue
        w = graph.tensors[op.inputs[1]]
        if w.encoding in (None, "int8c") or not kernel.supports(op, graph):
            continue
        x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
        if not snap.exact(x.scale, w.quant.scale, y.scale, snap.float32_product(op, len(w.quant.scale))):
            raise UnsupportedError(f"layer '{op.name}': its {w.encoding} kernel rounds TFLM's multipliers to 19 bits "
                                   "(a filter scale that tinygen/quant/snap.py could not move to an exact one); "
                                   "no .tflite runs it as the C does")
        if w.encoding not in ("ternary", "binary"):
            continue
        k = kernel.lower(op, graph).weight_shift
        if shifts.setdefault(w.name, k) != k:  # a filter shared by several ops (bands of one layer): one k
            raise UnsupportedError(f"tensor '{w.name}': shared by {w.encoding} layers run with different weight "
                                   "shifts; cannot be exported")
        if not k:
            continue
        values = w.data.astype(np.int64) << k
        if np.abs(values).max(initial=0) > 127:
            raise UnsupportedError(f"layer '{op.name}': {w.encoding} values +-2^{k} do not fit an int8 filter")
        shifted = {w.name: (values.astype(np.int8), _over(w.quant, k))}
        b = graph.tensors[op.inputs[2]] if len(op.inputs) > 2 and op.inputs[2] is not None else None
        if b is not None:
            shifted[b.name] = ((b.data.astype(np.int64) << k).astype(np.int32), _over(b.quant, k))
        out.update(shifted)
    return out


def _over(q, k: int):
    """q with every scale divided by 2^k (exact in float32)"""
    if q is None:
        return None
    return ir.QuantParams(tuple(float(np.float32(s) / np.float32(1 << k)) for s in q.scale), q.zero_point, q.axis)


class _Writer:
    """Collects tensors, buffers, opcodes and operators, then serializes them bottom-up."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.tensors: list = []  # (name, shape, dtype, quant, data)
        self.index: dict = {}
        self.opcodes: list = []  # builtin codes
        self.ops: list = []  # (opcode index, inputs, outputs, options name, option fields)
        self.scaled = _weight_shift_overrides(graph)  # tensor name -> (data, quant)
        for name in graph.inputs:
            self.tensor(name)

    def tensor(self, name: str) -> int:
        if name not in self.index:
            t = self.graph.tensors[name]
            if t.dtype not in _TYPES:
                raise UnsupportedError(f"tensor '{name}': dtype {t.dtype} cannot be exported")
            data, quant = self.scaled.get(name, (t.data, t.quant))
            self.index[name] = len(self.tensors)
            self.tensors.append((name, tuple(t.shape), t.dtype, quant, data))
        return self.index[name]

    def new_const(self, base: str, data: np.ndarray) -> int:
        name, k = f"{base}", 1
        while name in self.index or name in self.graph.tensors:
            name, k = f"{base}_{k}", k + 1
        self.index[name] = len(self.tensors)
        self.tensors.append((name, tuple(data.shape), str(data.dtype), None, data))
        return self.index[name]

    def zero_bias(self, op: ir.Op) -> int:
        """An all-zero bias at in_scale * w_scale: TFLM's kernels expect the bias tensor to exist. int32,
        or int64 for int16 input (16x8): an int32 bias there makes TFLM run its int32-accumulator CONV_2D /
        FULLY_CONNECTED variant (another rounding) and read DEPTHWISE_CONV_2D's bias as int64, while a
        bias-less 16x8 op means the int64 path (TFLM's own path for an absent CONV_2D / FC bias)."""
        x, f, out = (self.graph.tensors[op.inputs[0]], self.graph.tensors[op.inputs[1]],
                     self.graph.tensors[op.outputs[0]])
        dtype = "int64" if x.dtype == "int16" else "int32"
        channels = out.shape[-1]
        w_scale = np.broadcast_to(np.asarray(f.quant.scale, np.float64), (channels,))
        quant = ir.QuantParams.make(np.float64(x.scale) * w_scale, 0, 0 if channels > 1 else None)
        name, k = f"{op.name}/zero_bias", 1
        while name in self.index or name in self.graph.tensors:
            name, k = f"{op.name}/zero_bias_{k}", k + 1
        self.index[name] = len(self.tensors)
        self.tensors.append((name, (channels,), dtype, quant, np.zeros(channels, dtype)))
        return self.index[name]

    def new_activation(self, base: str, like: ir.Tensor, shape: tuple) -> int:
        name, k = f"{base}", 1
        while name in self.index or name in self.graph.tensors:
            name, k = f"{base}_{k}", k + 1
        self.index[name] = len(self.tensors)
        self.tensors.append((name, tuple(shape), like.dtype, like.quant, None))
        return self.index[name]

    def opcode(self, name: str) -> int:
        code = getattr(BuiltinOperator, name)
        if code not in self.opcodes:
            self.opcodes.append(code)
        return self.opcodes.index(code)

    def emit(self, opname: str, inputs: list, outputs: list, options: str = "", fields: tuple = ()) -> None:
        self.ops.append((self.opcode(opname), inputs, outputs, options, fields))

    def emit_custom(self, code: str, inputs: list, outputs: list, custom_options: bytes) -> None:
        """A custom operator (opcode CUSTOM named `code`) with its flexbuffer options."""
        key = ("CUSTOM", code)
        if key not in self.opcodes:
            self.opcodes.append(key)
        self.ops.append((self.opcodes.index(key), inputs, outputs, "", custom_options))

    # ---- ops -------------------------------------------------------------------------------------

    def add_op(self, op: ir.Op) -> None:
        """Emit `op` through its spec's export rule (tinygen/ops)."""
        ins = [-1 if t is None else self.tensor(t) for t in op.inputs]
        outs = [self.tensor(t) for t in op.outputs]
        spec = spec_for(op.kind)
        if spec is None or not applies(spec.export):
            raise UnsupportedError(f"layer '{op.name}' ({op.kind.value}): cannot be exported to .tflite")
        spec.export(self, op, ins, outs)

    def explicit_pad(self, op: ir.Op, x: ir.Tensor, p: ir.Padding) -> int:
        """PAD (zero point) before a VALID conv: equal to the conv's own padding, which reads as zero."""
        n, h, wd, c = x.shape
        shape = (n, h + p.top + p.bottom, wd + p.left + p.right, c)
        pads = self.new_const(f"{op.name}/paddings",
                              np.array([[0, 0], [p.top, p.bottom], [p.left, p.right], [0, 0]], np.int32))
        out = self.new_activation(f"{op.name}/padded", x, shape)
        self.emit("PAD", [self.index[op.inputs[0]], pads], [out], "PadOptions")
        return out

    # ---- serialization ---------------------------------------------------------------------------

    def finish(self) -> bytes:
        b = flatbuffers.Builder(1 << 16)
        buffers = [_table(b, "Buffer", ())]  # buffer 0: the empty sentinel
        tensor_offs = []
        for name, shape, dtype, quant, data in self.tensors:
            buf_index = 0
            if data is not None:
                raw = np.ascontiguousarray(data, dtype=np.dtype(dtype).newbyteorder("<")).tobytes()
                buffers.append(_table(b, "Buffer", (("Data", _bytes_vector(b, raw)),)))
                buf_index = len(buffers) - 1
            fields = [("Shape", _int_vector(b, shape, np.int32)), ("Type", _TYPES[dtype]), ("Buffer", buf_index),
                      ("Name", b.CreateString(name))]
            if quant is not None:
                fields.append(("Quantization", _quant(b, quant)))
            if name in self.graph.tensors and self.graph.tensors[name].variable:
                fields.append(("IsVariable", True))  # state TFLM keeps across invokes (LSTM h and c)
            tensor_offs.append(_table(b, "Tensor", fields))
        op_offs = []
        for opcode, ins, outs, options, fields in self.ops:
            f = [("OpcodeIndex", opcode), ("Inputs", _int_vector(b, ins, np.int32)),
                 ("Outputs", _int_vector(b, outs, np.int32))]
            if options:
                f += [("BuiltinOptionsType", getattr(BuiltinOptions, options)),
                      ("BuiltinOptions", _table(b, options, fields))]
            elif isinstance(fields, bytes):  # a custom operator's flexbuffer options
                f.append(("CustomOptions", _bytes_vector(b, fields)))
            op_offs.append(_table(b, "Operator", f))
        code_offs = [_opcode_table(b, c) for c in self.opcodes]
        g = self.graph
        sub = _table(b, "SubGraph", (
            ("Tensors", _offset_vector(b, tensor_offs)),
            ("Inputs", _int_vector(b, [self.index[t] for t in g.inputs], np.int32)),
            ("Outputs", _int_vector(b, [self.index[t] for t in g.outputs], np.int32)),
            ("Operators", _offset_vector(b, op_offs)),
            ("Name", b.CreateString("main"))))
        model = _table(b, "Model", (
            ("Version", 3),
            ("OperatorCodes", _offset_vector(b, code_offs)),
            ("Subgraphs", _offset_vector(b, [sub])),
            ("Description", b.CreateString(f"tinygen export of {g.name}")),
            ("Buffers", _offset_vector(b, buffers))))
        b.Finish(model, file_identifier=b"TFL3")
        return bytes(b.Output())


def _opcode_table(b: flatbuffers.Builder, code) -> int:
    if isinstance(code, tuple):  # ("CUSTOM", custom_code)
        c, name = BuiltinOperator.CUSTOM, b.CreateString(code[1])
        return _table(b, "OperatorCode", (("DeprecatedBuiltinCode", c), ("CustomCode", name), ("Version", 1),
                                          ("BuiltinCode", c)))
    return _table(b, "OperatorCode", (("DeprecatedBuiltinCode", min(code, 127)), ("Version", 1),
                                      ("BuiltinCode", code)))


def _module(name: str):
    return importlib.import_module(f"tflite.{name}")


def _table(b: flatbuffers.Builder, name: str, fields) -> int:
    """Build one table with the tflite package's generated `<Name>Start/Add<Field>/End` functions.

    Every child offset in `fields` must already be built (flatbuffers builds bottom-up).
    """
    m = _module(name)
    getattr(m, f"{name}Start")(b)
    for field, value in fields:
        getattr(m, f"{name}Add{field}")(b, value)
    return getattr(m, f"{name}End")(b)


def _quant(b: flatbuffers.Builder, q: ir.QuantParams) -> int:
    scale = _num_vector(b, np.asarray(q.scale, dtype=np.float32))
    zp = _num_vector(b, np.asarray(q.zero_point, dtype=np.int64))
    fields = [("Scale", scale), ("ZeroPoint", zp)]
    if q.per_axis:
        fields.append(("QuantizedDimension", int(q.axis)))
    return _table(b, "QuantizationParameters", fields)


def _num_vector(b: flatbuffers.Builder, arr: np.ndarray) -> int:
    return b.CreateNumpyVector(np.ascontiguousarray(arr.reshape(-1)).astype(arr.dtype.newbyteorder("<")))


def _int_vector(b: flatbuffers.Builder, values, dtype) -> int:
    return _num_vector(b, np.asarray(list(values), dtype=dtype))


def _bytes_vector(b: flatbuffers.Builder, raw: bytes) -> int:
    """A ubyte vector whose payload starts on a 16-byte boundary (TFLM reads tensor data in place)."""
    b.StartVector(1, len(raw), _BUFFER_ALIGN)
    b.head -= len(raw)
    b.Bytes[b.head:b.head + len(raw)] = raw
    return b.EndVector()


def _offset_vector(b: flatbuffers.Builder, offsets: list) -> int:
    b.StartVector(4, len(offsets), 4)
    for off in reversed(offsets):
        b.PrependUOffsetTRelative(off)
    return b.EndVector()
