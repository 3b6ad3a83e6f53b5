"""ONNX frontend: a float ONNX model (PyTorch's TorchScript or dynamo export, opsets 13-21) -> float32 IR.

NCHW activations become NHWC at import (`builder.py`); conv, pool and batch-norm weights and attributes
are permuted; a Flatten after a conv reorders the next Gemm / MatMul weights instead of transposing at
run time; Transposes that only undo a layout fold away. Converters: `convert_nn.py` (Conv, Gemm,
MatMul, BatchNormalization, pools), `convert_deconv.py` (ConvTranspose), `convert_resize.py` (Resize),
`convert_misc.py` (activations, element-wise), `convert_lut.py` (element-wise functions with no TFLite
integer kernel: one LUT op each), `patterns.py` (element-wise chains such as PyTorch's GELU: one node),
`convert_time.py` (MatMul on time-major values), `convert_shape.py` (shape ops, Gather, reductions),
`fold.py` (constant folding: Shape -> Gather -> Concat chains and the like), `io.py` (the ONNX layout
at the API: `tinygen run` and calibration data).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from tinygen import ir
from tinygen.errors import ModelFormatError, UnsupportedError
from tinygen.frontend.onnx.builder import CHANNELS_LAST, Builder, Val

OPSETS = (13, 21)
INSTALL_HINT = "pip install 'tinygen[onnx]'"
# ops whose first input is channels-first in ONNX: a rank-3 graph input feeding them is (N, C, L)
_CHANNEL_OPS = {"Conv", "ConvTranspose", "MaxPool", "AveragePool", "BatchNormalization",
                "GlobalAveragePool", "GlobalMaxPool", "InstanceNormalization"}


def import_onnx():
    try:
        import onnx
    except ImportError as e:
        raise UnsupportedError(f"ONNX models need the onnx package: {INSTALL_HINT}") from e
    return onnx


def load_onnx(path, input_shape: Optional[dict] = None, io_layout: str = "nhwc") -> ir.Graph:
    """Read `path` (.onnx) into a float32 IR graph, channels-last. `input_shape` gives the sizes of
    dynamic dimensions ({input name or '*': shape}); a dynamic batch is taken as 1. With `io_layout`
    "onnx" the graph's inputs and outputs keep the ONNX layout (a TRANSPOSE where the layouts differ)."""
    onnx = import_onnx()
    path = Path(path)
    model = _read(onnx, path)
    _check_opset(model, path)
    g = model.graph
    b = Builder(str(path), g.name)
    for init in g.initializer:
        _check_internal(init, path)
        b.vals[init.name] = Val(tuple(init.dims), const=_array(onnx, init))
    init_names = {i.name for i in g.initializer}
    channel_inputs = _channels_first_inputs(g)
    time_major = _time_major_inputs(g)
    for vi in g.input:
        if vi.name in init_names:
            continue
        shape = _input_shape(b, vi, path, input_shape, time_major.get(vi.name))
        perm = (1, 0, 2) if vi.name in time_major else None  # [time, 1, features] stored [1, time, features]
        _add_input(b, vi.name, shape, vi.name in channel_inputs and io_layout != "onnx", perm)
    from tinygen.frontend.onnx import convert, patterns

    convert.convert_nodes(b, patterns.fuse(b, g.node, [o.name for o in g.output]))  # GELU chains: one node
    for vo in g.output:
        v = b.vals[vo.name]
        if (io_layout == "onnx" and not _same_data(v)) or not _keep_layout(v):
            b.node = _OutputNode(vo.name)
            v = b.vals[vo.name] = b.plain(v)
        if v.is_const:
            raise ModelFormatError(f"{path}: output '{vo.name}' is a constant; nothing to compute")
        b.g.outputs.append(v.ir)
    b.g.onnx_io = _io_record(b, g)  # how each input / output is stored against its ONNX layout
    convert.finish(b)
    ir.verify(b.g, "frontend")
    return b.g


class _OutputNode:
    """Stands for the graph output in names and messages of the ops `plain` adds before it."""

    def __init__(self, name: str):
        self.name, self.op_type, self.output = name, "output", [name]


def _keep_layout(v: Val) -> bool:
    """A model output stays channels-last (model.h states NHWC), or in a layout that only moves axes of size 1
    (e.g. [time, 1, hidden] stored [1, time, hidden]: the same data); any other reordering is undone."""
    if v.order is not None:
        return False
    if v.perm in (None, CHANNELS_LAST.get(len(v.shape))):
        return True
    return [v.shape[p] for p in v.perm if v.shape[p] != 1] == [d for d in v.shape if d != 1]


def _same_data(v: Val) -> bool:
    """The stored data already is in ONNX order, only the shape differs by where axes of size 1 sit."""
    return v.order is None and v.perm is not None and \
        [v.shape[p] for p in v.perm if v.shape[p] != 1] == [d for d in v.shape if d != 1]


def _read(onnx, path: Path):
    if not path.is_file():
        raise ModelFormatError(f"{path}: no such model file")
    try:
        return onnx.load(str(path), load_external_data=False)
    except Exception as e:  # protobuf raises several types for a bad file
        raise ModelFormatError(f"{path}: cannot read ONNX model: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from e


def _check_opset(model, path: Path) -> None:
    for imp in model.opset_import:
        if imp.domain in ("", "ai.onnx"):
            if not OPSETS[0] <= imp.version <= OPSETS[1]:
                raise UnsupportedError(f"{path}: opset {imp.version} is not supported (tinygen reads opsets "
                                       f"{OPSETS[0]} to {OPSETS[1]}; re-export with torch.onnx.export(..., "
                                       f"opset_version=17))")
            return
    raise ModelFormatError(f"{path}: no default-domain opset import")


def _check_internal(init, path: Path) -> None:
    if init.data_location == 1 or init.external_data:
        raise UnsupportedError(f"{path}: initializer '{init.name}' is stored as external data; save the model "
                               f"as one file (onnx.save(model, path, save_as_external_data=False))")


def _array(onnx, tensor) -> np.ndarray:
    from onnx import numpy_helper

    a = numpy_helper.to_array(tensor)
    return a.astype(np.float32) if a.dtype in (np.float16, np.float64) else a


def _input_shape(b: Builder, vi, path: Path, given: Optional[dict], recurrent=None) -> tuple:
    """The input's shape, batch 1. `recurrent`: the LSTM / GRU / RNN node reading it as its time-major X
    ([time, batch, features]: the batch is axis 1, the time axis needs a static size or --input-shape)."""
    dims = vi.type.tensor_type.shape.dim
    axis = 1 if recurrent is not None else 0  # the batch axis
    if vi.type.tensor_type.elem_type != 1:
        raise UnsupportedError(f"{path}: input '{vi.name}': element type {vi.type.tensor_type.elem_type} is not "
                               f"float32; tinygen compiles float32 ONNX models")
    user = None
    if given:
        user = given.get(vi.name, given.get("*"))
    if user is not None:
        user = [int(d) for d in user]
        if len(user) == len(dims) - 1:
            user.insert(axis, 1)
        if len(user) != len(dims):
            raise UnsupportedError(f"{path}: input '{vi.name}': --input-shape {list(user)} has rank {len(user)}, "
                                   f"the model's input has rank {len(dims)}")
        user[axis] = 1
        return tuple(user)
    shape = []
    for i, d in enumerate(dims):
        if d.HasField("dim_value") and d.dim_value > 0:
            shape.append(int(d.dim_value))
        elif i == axis:
            shape.append(1)
            b.g.warnings.append(f"input '{vi.name}': dynamic batch dimension '{d.dim_param or '?'}' taken as 1")
        elif recurrent is not None and i == 0:
            raise UnsupportedError(f"{path}: input '{vi.name}': dimension 0 ('{d.dim_param or '?'}'), the time axis "
                                   f"of {recurrent.op_type} node '{recurrent.name or recurrent.output[0]}', is "
                                   f"dynamic; give its size with --input-shape (e.g. --input-shape "
                                   f"{vi.name}=20,1,{_dim_text(dims[2])}) or export with batch_first=True")
        else:
            raise UnsupportedError(f"{path}: input '{vi.name}': dimension {i} ('{d.dim_param or '?'}') is dynamic; "
                                   f"give its size with --input-shape (e.g. --input-shape {vi.name}=1,3,32,32)")
    if shape and shape[axis] != 1:
        raise UnsupportedError(f"{path}: input '{vi.name}': batch {shape[axis]}; tinygen compiles batch 1 "
                               f"(export with a batch of 1 or a dynamic batch)")
    return tuple(shape)


def _dim_text(d) -> str:
    return str(d.dim_value) if d.HasField("dim_value") else "F"


def _time_major_inputs(g) -> dict:
    """Rank-3 graph inputs an LSTM / GRU / RNN node (layout 0) reads as X [time, batch, features], directly
    or through Identity / Dropout: {input name: that node}."""
    found = {}
    producer = {o: n for n in g.node for o in n.output}
    for n in g.node:
        if n.op_type not in ("LSTM", "GRU", "RNN") or not n.input or \
                any(a.name == "layout" and a.i != 0 for a in n.attribute):
            continue
        t = n.input[0]
        while t in producer and producer[t].op_type in ("Identity", "Dropout"):
            t = producer[t].input[0]
        for vi in g.input:
            if vi.name == t and len(vi.type.tensor_type.shape.dim) == 3:
                found.setdefault(t, n)
    return found


def _channels_first_inputs(g) -> set:
    """Graph inputs that are (N, C, ...) images or signals: rank-4 ones, and rank-3 ones a conv-like node reads
    (directly or through element-wise nodes)."""
    found = set()
    passthrough = {"Relu", "Clip", "Add", "Sub", "Mul", "Div", "Identity", "Dropout", "Sigmoid", "Tanh",
                   "LeakyRelu", "HardSigmoid", "HardSwish", "Elu", "Pad"}
    from tinygen.frontend.onnx.convert_lut import CONVERTERS as _LUT_OPS
    passthrough |= set(_LUT_OPS) - {"Pow"}  # element-wise LUT ops (Gelu, Erf, ...) keep the layout
    consumers: dict = {}
    for n in g.node:
        for t in n.input:
            consumers.setdefault(t, []).append(n)
    for vi in g.input:
        rank = len(vi.type.tensor_type.shape.dim)
        if rank == 4:
            found.add(vi.name)
            continue
        frontier, seen = [vi.name], set()
        while frontier and rank == 3:
            t = frontier.pop()
            for n in consumers.get(t, []):
                if n.op_type in _CHANNEL_OPS:
                    found.add(vi.name)
                elif n.op_type in passthrough and n.output[0] not in seen:
                    seen.add(n.output[0])
                    frontier.append(n.output[0])
    return found


def _add_input(b: Builder, name: str, shape: tuple, channels_first: bool, perm=None) -> None:
    perm = CHANNELS_LAST.get(len(shape)) if channels_first else perm
    ir_shape = tuple(shape[p] for p in perm) if perm else shape
    t = b.tensor(name, ir_shape)
    b.g.inputs.append(t)
    b.vals[name] = Val(shape, ir=t, perm=perm)


def _io_record(b: Builder, g) -> dict:
    """For `tinygen run`: per input / output, the ONNX shape and the perm from ONNX to the stored order."""
    rec = {"inputs": [], "outputs": []}
    for vi in g.input:
        if vi.name in b.vals and b.vals[vi.name].ir in b.g.inputs:
            v = b.vals[vi.name]
            rec["inputs"].append(dict(name=vi.name, shape=list(v.shape), perm=list(v.perm) if v.perm else None))
    for vo in g.output:
        v = b.vals[vo.name]
        rec["outputs"].append(dict(name=vo.name, shape=list(v.shape),
                                   perm=list(v.perm) if v.perm and v.order is None else None))
    return rec
