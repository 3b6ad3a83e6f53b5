"""Read subgraph 0 of a .tflite flatbuffer into plain Python records (no TF interpreter).

Every flatbuffer access happens here, under `FieldTracker`, so a truncated or garbage file
surfaces as one `ModelFormatError` naming the file and the field being read.
"""
from __future__ import annotations

import inspect
import re
import struct
from dataclasses import dataclass, field
from typing import Optional

import flatbuffers
import numpy as np
import tflite
from tflite.BuiltinOptions import BuiltinOptions
from tflite.TensorType import TensorType
from tflite.utils import BUILTIN_OPCODE2NAME

from tinygen.errors import ModelFormatError, TinygenError, UnsupportedError
from tinygen.ir import QuantParams

IDENTIFIER = b"TFL3"
MAX_TENSOR_BYTES = 1 << 31  # no microcontroller tensor comes near this: larger means garbage

DTYPES = {
    TensorType.FLOAT32: "float32", TensorType.INT32: "int32", TensorType.UINT8: "uint8",
    TensorType.INT64: "int64", TensorType.INT16: "int16", TensorType.INT8: "int8",
    TensorType.BOOL: "bool",
}
_TYPE_NAMES = {v: k for k, v in vars(TensorType).items() if not k.startswith("_")}

# options of builtins that only constant folding reads (tflite_fold); converted builtins declare theirs
# in their op spec (`TfliteOp.options`)
FOLD_OPTION_FIELDS = {
    "PACK": ("PackOptions", ("ValuesCount", "Axis")),
    "GATHER": ("GatherOptions", ("Axis", "BatchDims")),
    "CALL_ONCE": ("CallOnceOptions", ("InitSubgraphIndex",)),  # resolved by tflite_resource
}
RESOURCE = "resource"  # dtype of a resource-variable handle (VAR_HANDLE's output); tflite_resource removes them


def option_fields(name: str) -> Optional[tuple]:
    """(options table name, fields) to read for builtin `name`, or None."""
    from tinygen.ops.spec import tflite_options  # the specs import this module's callers, not this module

    return tflite_options().get(name) or FOLD_OPTION_FIELDS.get(name)


@dataclass
class RawTensor:
    index: int
    name: str
    shape: tuple
    dtype: str
    quant: Optional[QuantParams] = None
    data: Optional[np.ndarray] = None
    variable: bool = False  # Tensor.is_variable: state that persists across invokes


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
    subgraphs: list = field(default_factory=list)  # RawModel of subgraphs 1.. (CALL_ONCE init code), no I/O


class FieldTracker:
    """Remembers which field is being read and names it in ModelFormatError.

    The reader below checks every offset, length and enum before it reads, so no low-level exception is
    expected here; one that still escapes (a reader bug) is re-raised as ModelFormatError with its cause.
    """

    def __init__(self, source: str):
        self.source = source
        self.field = "file header"

    def fail(self, msg: str) -> ModelFormatError:
        return ModelFormatError(f"{self.source}: {self.field}: {msg}")

    def fail_at(self, path: str, msg: str) -> ModelFormatError:
        """An error at a flatbuffer path the reader names itself (Model.subgraphs[0].tensors[3].shape)."""
        return ModelFormatError(f"{self.source}: {path}: {msg}")

    def __enter__(self) -> "FieldTracker":
        return self

    def __exit__(self, kind, exc, tb) -> bool:
        if exc is None or isinstance(exc, TinygenError):
            return False
        if isinstance(exc, (IndexError, struct.error, ValueError, TypeError, OverflowError,
                            UnicodeDecodeError, AttributeError, MemoryError, KeyError)):
            raise self.fail(f"malformed flatbuffer ({type(exc).__name__}: {exc})") from exc
        return False


# ---- a flatbuffer reader that checks every position before it reads ---------------------------------------
# Field slots (vtable offsets) and scalar types follow TFLite's schema.fbs, as the `tflite` package reads it.

_SCALARS = {"i8": ("<b", 1), "u8": ("<B", 1), "bool": ("<B", 1), "i16": ("<h", 2), "u16": ("<H", 2),
            "i32": ("<i", 4), "u32": ("<I", 4), "i64": ("<q", 8), "u64": ("<Q", 8), "f32": ("<f", 4)}


class _Table:
    """One flatbuffer table at `pos`, its vtable checked to lie inside the file."""

    def __init__(self, rd: "_Reader", pos: int, what: str):
        self.rd, self.pos, self.what = rd, pos, what
        n = rd.n
        if not 0 <= pos <= n - 4:
            raise rd.ft.fail_at(what, f"table offset {pos} is outside the {n}-byte file")
        vt = pos - struct.unpack_from("<i", rd.buf, pos)[0]
        if not 0 <= vt <= n - 4:
            raise rd.ft.fail_at(what, f"vtable offset {vt} is outside the {n}-byte file")
        self.vt_len, self.obj_len = struct.unpack_from("<HH", rd.buf, vt)
        if self.vt_len < 4 or self.vt_len % 2 or vt + self.vt_len > n:
            raise rd.ft.fail_at(what, f"vtable of {self.vt_len} bytes at {vt} does not fit the {n}-byte file")
        if self.obj_len < 4 or pos + self.obj_len > n:
            raise rd.ft.fail_at(what, f"table of {self.obj_len} bytes at {pos} does not fit the {n}-byte file")
        self.vt = vt

    def _field(self, slot: int, size: int, name: str) -> int:
        """The field's position in the file, or 0 when it is absent (then the schema default applies)."""
        if slot + 2 > self.vt_len:
            return 0
        (o,) = struct.unpack_from("<H", self.rd.buf, self.vt + slot)
        if o == 0:
            return 0
        if o < 4 or o + size > self.obj_len:
            raise self.rd.ft.fail_at(f"{self.what}.{name}", f"field at table offset {o} ({size} bytes) lies outside "
                                  f"the {self.obj_len}-byte table")
        return self.pos + o

    def scalar(self, slot: int, kind: str, default, name: str):
        fmt, size = _SCALARS[kind]
        at = self._field(slot, size, name)
        if not at:
            return default
        v = struct.unpack_from(fmt, self.rd.buf, at)[0]
        return bool(v) if kind == "bool" else v

    def _target(self, slot: int, name: str) -> int:
        at = self._field(slot, 4, name)
        if not at:
            return 0
        target = at + struct.unpack_from("<I", self.rd.buf, at)[0]
        if target > self.rd.n - 4:
            raise self.rd.ft.fail_at(f"{self.what}.{name}", f"offset {target} is outside the {self.rd.n}-byte file")
        return target

    def table(self, slot: int, name: str) -> Optional["_Table"]:
        target = self._target(slot, name)
        return _Table(self.rd, target, f"{self.what}.{name}") if target else None

    def vector(self, slot: int, elem_size: int, name: str) -> tuple:
        """(position of element 0, length); (0, 0) for an absent vector."""
        target = self._target(slot, name)
        if not target:
            return 0, 0
        (length,) = struct.unpack_from("<I", self.rd.buf, target)
        if target + 4 + length * elem_size > self.rd.n:
            raise self.rd.ft.fail_at(f"{self.what}.{name}", f"vector of {length} x {elem_size} bytes at {target} runs "
                                  f"past the end of the {self.rd.n}-byte file")
        return target + 4, length

    def array(self, slot: int, dtype: str, name: str) -> np.ndarray:
        dt = np.dtype(dtype).newbyteorder("<")
        at, length = self.vector(slot, dt.itemsize, name)
        if not length:
            return np.zeros(0, dt)
        return np.frombuffer(self.rd.buf, dtype=dt, count=length, offset=at)

    def string(self, slot: int, name: str) -> Optional[str]:
        at, length = self.vector(slot, 1, name)
        if not at:
            return None
        return bytes(self.rd.buf[at:at + length]).decode("utf-8", errors="replace")

    def tables(self, slot: int, name: str) -> list:
        """The positions of a vector of tables, each checked when it is opened with `item`."""
        at, length = self.vector(slot, 4, name)
        return [(at + 4 * j, f"{self.what}.{name}[{j}]") for j in range(length)]

    def item(self, entry: tuple) -> "_Table":
        at, what = entry
        return _Table(self.rd, at + struct.unpack_from("<I", self.rd.buf, at)[0], what)


class _Reader:
    def __init__(self, buf: bytes, ft: FieldTracker):
        self.buf, self.n, self.ft = buf, len(buf), ft


# slots of the tables tinygen reads (4 + 2 * field id in schema.fbs)
_MODEL_OPCODES, _MODEL_SUBGRAPHS, _MODEL_BUFFERS = 6, 8, 12
_SG_TENSORS, _SG_INPUTS, _SG_OUTPUTS, _SG_OPERATORS = 4, 6, 8, 10
_T_SHAPE, _T_TYPE, _T_BUFFER, _T_NAME, _T_QUANT, _T_IS_VARIABLE = 4, 6, 8, 10, 12, 14
_Q_SCALE, _Q_ZERO_POINT, _Q_DIM = 8, 10, 16
_B_DATA, _B_OFFSET, _B_SIZE = 4, 6, 8
_OC_DEPRECATED, _OC_CUSTOM, _OC_BUILTIN = 4, 6, 10
_OP_OPCODE, _OP_INPUTS, _OP_OUTPUTS, _OP_OPTIONS_TYPE, _OP_OPTIONS = 4, 6, 8, 10, 12
_OP_CUSTOM_OPTIONS = 14
_PLACEHOLDER_FOR_GREATER_OP_CODES = 127

_FLAG_KINDS = {"Int8": "i8", "Uint8": "u8", "Int16": "i16", "Uint16": "u16", "Int32": "i32", "Uint32": "u32",
               "Int64": "i64", "Float32": "f32", "Bool": "bool"}
_OPTION_SLOTS: dict = {}  # (options table, field) -> (slot, scalar kind)


def _option_slot(cls_name: str, field_name: str) -> tuple:
    """(vtable slot, scalar kind) of one scalar field of a builtin options table, read from the accessor
    the `tflite` schema package generates for it (`self._tab.Offset(slot)` ... `<Type>Flags`)."""
    key = (cls_name, field_name)
    if key not in _OPTION_SLOTS:
        src = inspect.getsource(getattr(getattr(tflite, cls_name), field_name))
        slot = re.search(r"Offset\((\d+)\)", src)
        flags = re.search(r"number_types\.(\w+)Flags, o \+ self\._tab\.Pos", src)
        if not slot or not flags or flags.group(1) not in _FLAG_KINDS:
            raise TypeError(f"{cls_name}.{field_name} is not a scalar options field")
        _OPTION_SLOTS[key] = (int(slot.group(1)), _FLAG_KINDS[flags.group(1)])
    return _OPTION_SLOTS[key]


_OPTION_DEFAULTS: dict = {}


def _default_options(cls_name: str):
    """An options table with every field absent, so each accessor returns the schema default."""
    b = flatbuffers.Builder(16)
    b.StartObject(0)
    b.Finish(b.EndObject())
    cls = getattr(tflite, cls_name)
    return cls.GetRootAs(bytes(b.Output()), 0)


def _defaults(cls_name: str, fields: tuple) -> dict:
    if (cls_name, fields) not in _OPTION_DEFAULTS:
        opts = _default_options(cls_name)
        _OPTION_DEFAULTS[cls_name, fields] = {f: getattr(opts, f)() for f in fields}
    return _OPTION_DEFAULTS[cls_name, fields]


def parse(buf: bytes, source: str) -> RawModel:
    """Parse `buf`, raising ModelFormatError (file + field) for anything malformed."""
    ft = FieldTracker(source)
    buf = bytes(buf)
    if len(buf) < 8:
        raise ft.fail(f"file is {len(buf)} bytes, too short for a TFLite flatbuffer")
    if buf[4:8] != IDENTIFIER:
        raise ft.fail(f"file identifier is {bytes(buf[4:8])!r}, expected {IDENTIFIER!r} (not a .tflite file)")
    rd = _Reader(buf, ft)
    with ft:
        ft.field = "root table"
        (root,) = struct.unpack_from("<I", buf, 0)
        if root + 4 > len(buf):
            raise ft.fail(f"root offset {root} is past the end of the {len(buf)}-byte file")
        model = _Table(rd, root, "Model")
        ft.field = "Model.subgraphs"
        subgraphs = model.tables(_MODEL_SUBGRAPHS, "subgraphs")
        if not subgraphs:
            raise ft.fail("the model has no subgraph")
        sg = model.item(subgraphs[0])
        ft.field = "Model.buffers"
        buffers = model.tables(_MODEL_BUFFERS, "buffers")
        buffer_tables = []
        for b, entry in enumerate(buffers):  # open every buffer table so a cut-off tail is noticed
            ft.field = f"Model.buffers[{b}]"
            bt = model.item(entry)
            bt.vector(_B_DATA, 1, "data")
            buffer_tables.append(bt)
        ft.field = "SubGraph[0].tensors"
        tensor_entries = sg.tables(_SG_TENSORS, "tensors")
        n_tensors = len(tensor_entries)
        tensors = [_tensor(ft, sg, e, i, buffer_tables, buf) for i, e in enumerate(tensor_entries)]
        ft.field = "Model.operator_codes"
        opnames = [_opname(ft, model, e, i) for i, e in enumerate(model.tables(_MODEL_OPCODES, "operator_codes"))]
        ft.field = "SubGraph[0].operators"
        ops = [_op(ft, sg, e, i, opnames, n_tensors) for i, e in enumerate(sg.tables(_SG_OPERATORS, "operators"))]
        ft.field = "SubGraph[0].inputs"
        inputs = _indices(ft, sg.array(_SG_INPUTS, "int32", "inputs"), n_tensors, allow_absent=False)
        ft.field = "SubGraph[0].outputs"
        outputs = _indices(ft, sg.array(_SG_OUTPUTS, "int32", "outputs"), n_tensors, allow_absent=False)
        extra = []
        for s, entry in enumerate(subgraphs[1:], start=1):
            ft.field = f"Model.subgraphs[{s}]"
            extra.append(RawModel(source, *_subgraph_body(ft, model.item(entry), buffer_tables, buf, opnames), [], []))
    return RawModel(source, tensors, ops, inputs, outputs, extra)


def _subgraph_body(ft: FieldTracker, sg: _Table, buffer_tables: list, buf: bytes, opnames: list) -> tuple:
    """(tensors, ops) of one subgraph."""
    ft.field = "SubGraph.tensors"
    tensor_entries = sg.tables(_SG_TENSORS, "tensors")
    tensors = [_tensor(ft, sg, e, i, buffer_tables, buf) for i, e in enumerate(tensor_entries)]
    ft.field = "SubGraph.operators"
    ops = [_op(ft, sg, e, i, opnames, len(tensors)) for i, e in enumerate(sg.tables(_SG_OPERATORS, "operators"))]
    return tensors, ops


def _indices(ft: FieldTracker, arr: np.ndarray, n_tensors: int, allow_absent: bool) -> list:
    out = []
    for j, v in enumerate(arr.tolist()):
        if v == -1 and allow_absent:
            out.append(-1)
        elif not 0 <= v < n_tensors:
            raise ft.fail(f"entry {j} is tensor index {v}, out of range (the subgraph has {n_tensors} tensors)")
        else:
            out.append(v)
    return out


def _tensor(ft: FieldTracker, sg: _Table, entry: tuple, i: int, buffers: list, buf: bytes) -> RawTensor:
    ft.field = f"SubGraph[0].tensors[{i}]"
    t = sg.item(entry)
    name = t.string(_T_NAME, "name") or f"tensor_{i}"
    ft.field = f"tensor {i} '{name}'"
    shape = tuple(int(d) for d in t.array(_T_SHAPE, "int32", "shape").tolist())
    if any(d < 0 for d in shape):
        raise ft.fail(f"shape {list(shape)} has a negative dimension")
    ttype = t.scalar(_T_TYPE, "i8", 0, "type")
    if ttype == TensorType.RESOURCE:
        return RawTensor(i, name, shape, RESOURCE)
    if ttype not in DTYPES:
        raise UnsupportedError(f"{ft.source}: tensor '{name}' has type "
                               f"{_TYPE_NAMES.get(ttype, ttype)}, which tinygen does not support")
    dtype = DTYPES[ttype]
    if int(np.prod(shape, dtype=np.float64)) * np.dtype(dtype).itemsize > MAX_TENSOR_BYTES:
        raise ft.fail(f"shape {list(shape)} of {dtype} is larger than {MAX_TENSOR_BYTES} bytes")
    quant = _quant(ft, t.table(_T_QUANT, "quantization"), shape)
    data = None
    b = t.scalar(_T_BUFFER, "u32", 0, "buffer")
    if not 0 <= b < len(buffers):
        raise ft.fail(f"buffer index {b} out of range (the model has {len(buffers)} buffers)")
    if b != 0:
        data = _buffer_data(ft, buffers[b], b, shape, dtype, buf)
    variable = bool(t.scalar(_T_IS_VARIABLE, "bool", False, "is_variable"))
    if variable:
        data = None  # TFLM ignores a variable tensor's buffer: it starts at its zero point (ir.Tensor.variable)
    return RawTensor(i, name, shape, dtype, quant, data, variable)


def _quant(ft: FieldTracker, q: Optional[_Table], shape: tuple) -> Optional[QuantParams]:
    if q is None:
        return None
    scale = q.array(_Q_SCALE, "float32", "scale").astype(np.float32)
    n = len(scale)
    if n == 0:
        return None
    zp = q.array(_Q_ZERO_POINT, "int64", "zero_point").astype(np.int64)
    if len(zp) == 0:
        zp = np.zeros(n, np.int64)
    if len(zp) not in (1, n):
        raise ft.fail(f"quantization has {n} scales but {len(zp)} zero points")
    axis = None
    if n > 1:
        axis = int(q.scalar(_Q_DIM, "i32", 0, "quantized_dimension"))
        if len(shape) == 1 and shape[0] == n:
            axis = 0  # person_detect's depthwise biases repeat their weights' axis 3: rank 1 has one axis
        if not 0 <= axis < len(shape) or shape[axis] != n:
            raise ft.fail(f"per-axis quantization with {n} scales on quantized_dimension {axis} "
                          f"does not match shape {list(shape)}")
    return QuantParams.make(scale, zp, axis)


def _buffer_data(ft: FieldTracker, buffer: _Table, b: int, shape: tuple, dtype: str, buf: bytes):
    ft.field += f" buffer {b}"
    offset = buffer.scalar(_B_OFFSET, "u64", 0, "offset")
    size = buffer.scalar(_B_SIZE, "u64", 0, "size")
    if offset > 1:  # large models keep data outside the flatbuffer, offset from the file start
        if offset + size > len(buf):
            raise ft.fail(f"data [{offset}, {offset + size}) lies past the end of the {len(buf)}-byte file")
        raw = bytes(buf[offset:offset + size])
    else:
        at, n = buffer.vector(_B_DATA, 1, "data")
        if n == 0:
            return None
        raw = bytes(buf[at:at + n])
    dt = np.dtype(dtype).newbyteorder("<")
    expected = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
    if len(raw) != expected:
        raise ft.fail(f"holds {len(raw)} bytes but shape {list(shape)} of {dtype} needs {expected}")
    return np.frombuffer(raw, dtype=dt).astype(dtype).reshape(shape)


def _opname(ft: FieldTracker, model: _Table, entry: tuple, i: int) -> str:
    ft.field = f"Model.operator_codes[{i}]"
    oc = model.item(entry)
    code = oc.scalar(_OC_BUILTIN, "i32", 0, "builtin_code")
    if code < _PLACEHOLDER_FOR_GREATER_OP_CODES:  # older files keep the code in deprecated_builtin_code
        code = oc.scalar(_OC_DEPRECATED, "i8", 0, "deprecated_builtin_code")
    if code == tflite.BuiltinOperator.CUSTOM:
        return f"CUSTOM({oc.string(_OC_CUSTOM, 'custom_code')})"
    return BUILTIN_OPCODE2NAME.get(code, f"BUILTIN_{code}")


def _op(ft: FieldTracker, sg: _Table, entry: tuple, i: int, opnames: list, n_tensors: int) -> RawOp:
    ft.field = f"SubGraph[0].operators[{i}]"
    op = sg.item(entry)
    k = op.scalar(_OP_OPCODE, "u32", 0, "opcode_index")
    if not 0 <= k < len(opnames):
        raise ft.fail(f"opcode_index {k} out of range (the model has {len(opnames)} operator codes)")
    name = opnames[k]
    ft.field = f"operator {i} ({name}) inputs"
    inputs = _indices(ft, op.array(_OP_INPUTS, "int32", "inputs"), n_tensors, allow_absent=True)
    ft.field = f"operator {i} ({name}) outputs"
    outputs = _indices(ft, op.array(_OP_OUTPUTS, "int32", "outputs"), n_tensors, allow_absent=False)
    ft.field = f"operator {i} ({name}) builtin_options"
    if name == "VAR_HANDLE":  # string options: the variable's identity
        table = op.table(_OP_OPTIONS, "builtin_options")
        names = {f: (table.string(slot, f) if table else None) or "" for f, slot in (("container", 4), ("shared_name", 6))}
        return RawOp(i, name, inputs, outputs, names)
    if name.startswith("CUSTOM("):  # the custom op's options: raw bytes (flexbuffers), read by its converter
        ft.field = f"operator {i} ({name}) custom_options"
        at, n = op.vector(_OP_CUSTOM_OPTIONS, 1, "custom_options")
        return RawOp(i, name, inputs, outputs, {"custom_options": bytes(op.rd.buf[at:at + n])})
    return RawOp(i, name, inputs, outputs, _options(ft, op, name))


def _options(ft: FieldTracker, op: _Table, name: str) -> dict:
    entry = option_fields(name)
    if entry is None:
        return {}
    cls_name, fields = entry
    defaults = _defaults(cls_name, fields)
    table = op.table(_OP_OPTIONS, "builtin_options")
    if table is None:
        return {f: defaults[f] for f in fields}
    expected = getattr(BuiltinOptions, cls_name)
    kind = op.scalar(_OP_OPTIONS_TYPE, "u8", 0, "builtin_options_type")
    if kind != expected:
        raise ft.fail(f"options type {kind}, expected {cls_name} ({expected})")
    return {f: table.scalar(*_option_slot(cls_name, f), defaults[f], f) for f in fields}
