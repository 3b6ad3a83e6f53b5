"""Semantic checks on a loaded graph before lowering: structure, shapes vs op semantics, quantization, sizes.

`check(graph)` raises a typed error naming the layer, tensor and field; it never changes the graph.
The frontends check the file format; this module checks what the graph means, so a hostile model
stops here with a one-line message instead of tripping an assertion or an overflow in a later stage.
"""
from __future__ import annotations

import math
import numpy as np

from tinygen import ir
from tinygen.errors import ModelFormatError, UnsupportedError
from tinygen.ir import Graph, Op, OpKind
from tinygen.ops.checks import COMMON_CHECKS, MAX_ELEMENTS, QUANTIZED as _QUANTIZED, CheckContext
from tinygen.ops.checks import checked_product  # noqa: F401  (part of this module's interface)
from tinygen.ops.spec import spec_for

MAX_RANK = 6
MAX_TOTAL_BYTES = (1 << 31) - 1  # sum of all tensors: arena offsets and flash sizes fit int32
MAX_OPS = 100_000

_INT_RANGE = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767),
              "int32": (-(1 << 31), (1 << 31) - 1), "int64": (-(1 << 63), (1 << 63) - 1)}
_KNOWN_DTYPES = {"float32", "int8", "uint8", "int16", "int32", "int64", "bool"}


class _Where:
    """Builds messages that name the model file, the layer and its op kind."""

    def __init__(self, graph: Graph):
        self.source = str(graph.source or graph.name)

    def bad(self, what: str, msg: str) -> ModelFormatError:
        return ModelFormatError(f"{self.source}: {what}: {msg}")

    def layer(self, op: Op) -> str:
        return f"layer '{op.name}' ({op.kind.value})"


def check(graph: Graph) -> None:
    """Raise ModelFormatError / UnsupportedError if `graph` is not a well-formed model tinygen can lower."""
    w = _Where(graph)
    if len(graph.ops) > MAX_OPS:
        raise w.bad("graph", f"{len(graph.ops)} operators is more than the limit of {MAX_OPS}")
    _check_tensors(graph, w)
    _check_structure(graph, w)
    for op in graph.ops:
        _check_op(graph, op, w)


# ---- tensors -------------------------------------------------------------------------------------


def _check_tensors(graph: Graph, w: _Where) -> None:
    total = 0
    activations = set(graph.inputs) | set(graph.outputs)
    for op in graph.ops:
        activations.update(t for t in op.inputs if t is not None and not graph.tensors.get(t, _NO).is_const)
        activations.update(op.outputs)
    for name, t in graph.tensors.items():
        what = f"tensor '{name}'"
        if not isinstance(t.shape, tuple) or any(not isinstance(d, (int, np.integer)) for d in t.shape):
            raise w.bad(what, f"shape {t.shape!r} is not a tuple of integers")
        if len(t.shape) > MAX_RANK:
            raise w.bad(what, f"rank {len(t.shape)} is above the supported maximum {MAX_RANK}")
        if any(d < 0 for d in t.shape):
            raise w.bad(what, f"shape {list(t.shape)} has a negative dimension")
        if t.dtype not in _KNOWN_DTYPES:
            raise UnsupportedError(f"{w.source}: {what}: dtype {t.dtype!r} is not supported")
        n = checked_product(t.shape)
        if n is None:
            raise w.bad(what, f"shape {list(t.shape)} has more than {MAX_ELEMENTS} elements")
        if n == 0 and name in activations:
            raise w.bad(what, f"shape {list(t.shape)} is empty (a zero dimension)")
        nbytes = n * np.dtype(t.dtype if t.dtype != "bool" else "uint8").itemsize
        total += nbytes
        if nbytes > MAX_ELEMENTS or total > MAX_TOTAL_BYTES:
            raise w.bad(what, f"{nbytes} bytes takes the model past {MAX_TOTAL_BYTES} bytes in total")
        if t.data is not None:
            _check_data(t, w, what)
        if t.quant is not None:
            _check_quant(t, w, what)
        elif t.dtype in _QUANTIZED and name in activations:
            raise w.bad(what, f"{t.dtype} activation has no quantization parameters")


class _Absent:
    is_const = False


_NO = _Absent()


def _check_data(t: ir.Tensor, w: _Where, what: str) -> None:
    data = t.data
    if not isinstance(data, np.ndarray):
        raise w.bad(what, f"constant data is a {type(data).__name__}, not an array")
    if tuple(data.shape) != tuple(t.shape):
        raise w.bad(what, f"constant data has shape {list(data.shape)}, the tensor says {list(t.shape)}")
    want = np.dtype(t.dtype if t.dtype != "bool" else "bool")
    if data.dtype != want:
        raise w.bad(what, f"constant data has dtype {data.dtype}, the tensor says {t.dtype}")
    if data.dtype.kind == "f" and data.size and not np.all(np.isfinite(data)):
        raise w.bad(what, "constant data contains NaN or inf")


def _check_quant(t: ir.Tensor, w: _Where, what: str) -> None:
    q = t.quant
    scale, zp = tuple(q.scale), tuple(q.zero_point)
    if len(scale) == 0:
        raise w.bad(what, "quantization has no scale")
    if len(zp) != len(scale):
        raise w.bad(what, f"quantization has {len(scale)} scales but {len(zp)} zero points")
    for i, s in enumerate(scale):
        if not isinstance(s, (float, int, np.floating, np.integer)) or not math.isfinite(float(s)) or float(s) <= 0:
            raise w.bad(what, f"quantization scale[{i}] = {s!r} must be finite and > 0")
        if float(s) < np.finfo(np.float32).tiny or float(s) > float(np.finfo(np.float32).max):
            raise w.bad(what, f"quantization scale[{i}] = {s!r} is outside the normal float32 range")
    lo, hi = _INT_RANGE.get(t.dtype, (-(1 << 31), (1 << 31) - 1))
    for i, z in enumerate(zp):
        if not isinstance(z, (int, np.integer)) or not lo <= int(z) <= hi:
            raise w.bad(what, f"quantization zero_point[{i}] = {z!r} is outside {t.dtype}'s range [{lo}, {hi}]")
    if len(scale) > 1:
        axis = q.axis
        if axis is None or not isinstance(axis, (int, np.integer)) or not 0 <= axis < len(t.shape):
            raise w.bad(what, f"per-axis quantization axis {axis!r} is out of range for shape {list(t.shape)}")
        if t.shape[axis] != len(scale):
            raise w.bad(what, f"per-axis quantization has {len(scale)} scales but dimension {axis} of "
                              f"shape {list(t.shape)} is {t.shape[axis]}")


# ---- structure -----------------------------------------------------------------------------------


def _check_structure(graph: Graph, w: _Where) -> None:
    """Every name resolves, each tensor has at most one producer, no cycles, ops in dependency order."""
    if not graph.inputs or not graph.outputs:
        raise w.bad("graph", f"needs at least one input and one output (has {len(graph.inputs)} and "
                             f"{len(graph.outputs)})")
    for kind, names in (("input", graph.inputs), ("output", graph.outputs)):
        for t in names:
            if t not in graph.tensors:
                raise w.bad(f"model {kind} '{t}'", "is not a tensor of the graph")
        if len(set(names)) != len(names):
            raise w.bad(f"model {kind}s", f"{names} lists a tensor twice")
    for t in graph.inputs:
        if graph.tensors[t].is_const:
            raise w.bad(f"model input '{t}'", "is a constant")
    producer: dict = {}
    for i, op in enumerate(graph.ops):
        if not isinstance(op.kind, OpKind):
            raise w.bad(f"operator {i}", f"kind {op.kind!r} is not an op kind")
        for t in list(op.inputs) + list(op.outputs):
            if t is not None and t not in graph.tensors:
                raise w.bad(w.layer(op), f"tensor '{t}' is not in the graph")
        updates_state = any(t is not None and t in graph.tensors and graph.tensors[t].variable for t in op.inputs)
        if (not op.outputs and not updates_state) or any(t is None for t in op.outputs):
            raise w.bad(w.layer(op), "has no output tensor")
        for t in op.outputs:
            if t in producer:
                raise w.bad(w.layer(op), f"output '{t}' is also written by layer '{producer[t][1].name}'")
            if t in graph.inputs:
                raise w.bad(w.layer(op), f"output '{t}' overwrites a model input")
            if graph.tensors[t].is_const:
                raise w.bad(w.layer(op), f"output '{t}' overwrites a constant")
            producer[t] = (i, op)
    for i, op in enumerate(graph.ops):
        for t in op.inputs:
            if t is None or t not in producer:
                continue
            j, src = producer[t]
            if j >= i:
                cyc = " (a cycle)" if _reaches(graph, producer, i, j) else ""
                raise w.bad(w.layer(op), f"reads '{t}', which layer '{src.name}' writes at or after it{cyc}")
        for t in op.inputs:
            if (t is not None and t not in producer and t not in graph.inputs and not graph.tensors[t].is_const
                    and not graph.tensors[t].variable):
                raise w.bad(w.layer(op), f"reads '{t}', which is neither an input, a constant nor produced")
    for t in graph.outputs:
        if t not in producer:
            raise w.bad(f"model output '{t}'", "is never produced by a layer")


def _reaches(graph: Graph, producer: dict, start: int, target: int) -> bool:
    """Whether op `target` depends (transitively) on op `start`: reading it would close a cycle."""
    seen, stack = set(), [target]
    while stack:
        k = stack.pop()
        if k == start:
            return True
        if k in seen:
            continue
        seen.add(k)
        stack.extend(producer[t][0] for t in graph.ops[k].inputs if t is not None and t in producer)
    return False


# ---- per-op semantics ----------------------------------------------------------------------------


def _check_op(graph: Graph, op: Op, w: _Where) -> None:
    """The checks every op runs (one output, activation input, input count), then its spec's checks."""
    spec = spec_for(op.kind)
    if spec is None:
        raise UnsupportedError(f"{w.source}: {w.layer(op)}: op {op.kind.value} has no spec in tinygen/ops")
    c = CheckContext(graph, op, w.source)
    for check in COMMON_CHECKS + tuple(spec.checks):
        c.rule = " ".join((check.__doc__ or "").split())
        check(c)
