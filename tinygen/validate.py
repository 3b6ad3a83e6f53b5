"""Semantic checks on a loaded graph before lowering: structure, shapes vs op semantics, quantization, sizes.

`check(graph)` raises a typed error naming the layer, tensor and field; it never changes the graph.
The frontends check the file format; this module checks what the graph means, so a hostile model
stops here with a one-line message instead of tripping an assertion or an overflow in a later stage.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

from . import ir
from .errors import ModelFormatError, UnsupportedError
from .ir import Graph, Op, OpKind

MAX_RANK = 6
MAX_ELEMENTS = (1 << 31) - 1  # C kernels index with int32: every count and offset must fit
MAX_TOTAL_BYTES = (1 << 31) - 1  # sum of all tensors: arena offsets and flash sizes fit int32
MAX_PAD = 1 << 16
MAX_OPS = 100_000

_INT_RANGE = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767),
              "int32": (-(1 << 31), (1 << 31) - 1), "int64": (-(1 << 63), (1 << 63) - 1)}
_QUANTIZED = ("int8", "uint8", "int16")
_KNOWN_DTYPES = {"float32", "int8", "uint8", "int16", "int32", "int64", "bool"}
_WEIGHTED = (OpKind.CONV_2D, OpKind.DEPTHWISE_CONV_2D, OpKind.FULLY_CONNECTED)
_SAME_SHAPE = (OpKind.SOFTMAX, OpKind.LOGISTIC, OpKind.TANH, OpKind.RELU, OpKind.RELU6, OpKind.LEAKY_RELU,
               OpKind.HARD_SWISH, OpKind.QUANTIZE, OpKind.DEQUANTIZE)
# ops whose input 0 the C kernel reads as an activation (arena, model input), never as a constant array
_ACTIVATION_IN = (OpKind.CONV_2D, OpKind.DEPTHWISE_CONV_2D, OpKind.FULLY_CONNECTED, OpKind.AVERAGE_POOL_2D,
                  OpKind.MAX_POOL_2D, OpKind.PAD, OpKind.MEAN, OpKind.RESHAPE, OpKind.TRANSPOSE_CONV,
                  OpKind.STRIDED_SLICE) + _SAME_SHAPE


class _Where:
    """Builds messages that name the model file, the layer and its op kind."""

    def __init__(self, graph: Graph):
        self.source = str(graph.source or graph.name)

    def bad(self, what: str, msg: str) -> ModelFormatError:
        return ModelFormatError(f"{self.source}: {what}: {msg}")

    def layer(self, op: Op) -> str:
        return f"layer '{op.name}' ({op.kind.value})"


def checked_product(dims, cap: int = MAX_ELEMENTS) -> Optional[int]:
    """Product of `dims` or None as soon as a partial product exceeds `cap` (C int32 overflow)."""
    n = 1
    for d in dims:
        n *= int(d)
        if n > cap:
            return None
    return n


def check(graph: Graph) -> None:
    """Raise ModelFormatError / UnsupportedError if `graph` is not a well-formed model tinygen can lower."""
    w = _Where(graph)
    if len(graph.ops) > MAX_OPS:
        raise w.bad("graph", f"{len(graph.ops)} operators is more than the limit of {MAX_OPS}")
    _check_tensors(graph, w)
    _check_structure(graph, w)
    consumers = graph.consumers()
    for op in graph.ops:
        _check_op(graph, op, w, consumers)


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
        if not op.outputs or any(t is None for t in op.outputs):
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
            if t is not None and t not in producer and t not in graph.inputs and not graph.tensors[t].is_const:
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


def _check_op(graph: Graph, op: Op, w: _Where, consumers: dict) -> None:
    where = w.layer(op)
    T = graph.tensors

    def need_inputs(n_min: int, n_max: int) -> list:
        if not n_min <= len(op.inputs) <= n_max:
            raise w.bad(where, f"has {len(op.inputs)} inputs, expected {n_min}..{n_max}")
        for k in range(n_min):
            if op.inputs[k] is None:
                raise w.bad(where, f"input {k} is missing")
        return [None if t is None else T[t] for t in op.inputs]

    def rank(t: ir.Tensor, r: int, role: str) -> None:
        if len(t.shape) != r:
            raise w.bad(where, f"{role} '{t.name}' has shape {list(t.shape)}, expected rank {r}")

    def const(t: ir.Tensor, role: str) -> None:
        if not t.is_const:
            raise UnsupportedError(f"{w.source}: {where}: {role} '{t.name}' must be a constant")

    def out_is(shape, role: str = "output") -> None:
        o = T[op.outputs[0]]
        if tuple(o.shape) != tuple(shape):
            raise w.bad(where, f"{role} '{o.name}' has shape {list(o.shape)}, the op computes {list(shape)}")

    a = op.attrs
    if len(op.outputs) != 1:
        raise w.bad(where, f"has {len(op.outputs)} outputs, expected 1")
    out = T[op.outputs[0]]
    kind = op.kind
    if kind in _ACTIVATION_IN and op.inputs and op.inputs[0] is not None and T[op.inputs[0]].is_const:
        raise UnsupportedError(f"{w.source}: {where}: input 0 '{op.inputs[0]}' is a constant; the kernels read "
                               f"it from the arena (fold constant-only layers before compiling)")

    if kind in (OpKind.CONV_2D, OpKind.DEPTHWISE_CONV_2D):
        x, f, bias = (need_inputs(2, 3) + [None])[:3]
        rank(x, 4, "input")
        rank(f, 4, "filter")
        const(f, "filter")
        rank(out, 4, "output")
        _positive(w, where, a, ("stride_h", "stride_w", "dilation_h", "dilation_w"))
        _padding(w, where, a.padding)
        if kind == OpKind.CONV_2D:
            out_ch = f.shape[0]
            if f.shape[3] != x.shape[3]:
                raise w.bad(where, f"filter {list(f.shape)} does not match {x.shape[3]} input channels")
        else:
            out_ch = f.shape[3]
            if f.shape[0] != 1:
                raise w.bad(where, f"depthwise filter {list(f.shape)} must have a leading 1")
            if not isinstance(a.depth_multiplier, int) or a.depth_multiplier < 1 \
                    or x.shape[3] * a.depth_multiplier != out_ch:
                raise w.bad(where, f"depth_multiplier {a.depth_multiplier} x {x.shape[3]} input channels "
                                   f"!= {out_ch} filter channels")
        oh = _window_out(w, where, x.shape[1], f.shape[1], a.stride_h, a.dilation_h, a.padding.top, a.padding.bottom)
        ow = _window_out(w, where, x.shape[2], f.shape[2], a.stride_w, a.dilation_w, a.padding.left, a.padding.right)
        out_is((x.shape[0], oh, ow, out_ch))
        if checked_product((f.shape[1], f.shape[2], f.shape[3] if kind == OpKind.CONV_2D else 1)) is None:
            raise w.bad(where, f"filter {list(f.shape)}: accumulation length overflows int32")
        _bias(w, where, bias, out_ch, const)
        _weights_quant(w, where, x, f, out, kind)
    elif kind == OpKind.TRANSPOSE_CONV:
        x, f, bias = (need_inputs(2, 3) + [None])[:3]
        rank(x, 4, "input")
        rank(f, 4, "filter")
        const(f, "filter")
        rank(out, 4, "output")
        _positive(w, where, a, ("stride_h", "stride_w"))
        _padding(w, where, a.padding)
        if f.shape[3] != x.shape[3] or f.shape[0] != out.shape[3] or x.shape[0] != out.shape[0]:
            raise w.bad(where, f"filter {list(f.shape)} does not fit input {list(x.shape)} and output "
                               f"{list(out.shape)}")
        for axis, (p, s, k) in enumerate(((a.padding.top, a.stride_h, f.shape[1]),
                                          (a.padding.left, a.stride_w, f.shape[2])), start=1):
            if (x.shape[axis] - 1) * s + k + p > MAX_ELEMENTS:
                raise w.bad(where, f"padding {p} / stride {s} / filter {k} on axis {axis} are out of range")
        if checked_product(f.shape[1:]) is None:
            raise w.bad(where, f"filter {list(f.shape)}: accumulation length overflows int32")
        _bias(w, where, bias, f.shape[0], const)
        _weights_quant(w, where, x, f, out, kind)
    elif kind == OpKind.STRIDED_SLICE:
        (x,) = need_inputs(1, 1)
        r = len(x.shape)
        fields = (a.begin, a.end, a.strides)
        if any(not isinstance(v, tuple) or len(v) != r or any(not isinstance(i, int) for i in v) for v in fields):
            raise w.bad(where, f"begin/end/strides {fields} must be {r} integers each")
        if any(not isinstance(d, int) or not 0 <= d < r for d in a.shrink_axes):
            raise w.bad(where, f"shrink axes {a.shrink_axes} out of range for rank {r}")
        shape = []
        for d, (b, e, st) in enumerate(zip(*fields)):
            n = len(range(b, e, st)) if st != 0 else -1
            if st == 0 or (n > 0 and not (0 <= b < x.shape[d] and 0 <= b + (n - 1) * st < x.shape[d])):
                raise w.bad(where, f"slice {b}:{e}:{st} of dimension {d} (size {x.shape[d]}) is out of range")
            if d in a.shrink_axes and n != 1:
                raise w.bad(where, f"shrunk dimension {d} must keep exactly one element, keeps {n}")
            if d not in a.shrink_axes:
                shape.append(n)
        if checked_product(shape) != out.size:
            raise w.bad(where, f"output '{out.name}' {list(out.shape)} does not hold the slice {shape}")
    elif kind == OpKind.FULLY_CONNECTED:
        x, f, bias = (need_inputs(2, 3) + [None])[:3]
        rank(f, 2, "weights")
        const(f, "weights")
        units, depth = f.shape
        if depth == 0 or x.size % depth != 0:
            raise w.bad(where, f"input '{x.name}' {list(x.shape)} is not a whole number of rows of {depth}")
        if not out.shape or out.shape[-1] != units or out.size != (x.size // depth) * units:
            raise w.bad(where, f"output '{out.name}' {list(out.shape)} is not {x.size // depth} rows of {units}")
        _bias(w, where, bias, units, const)
        _weights_quant(w, where, x, f, out, kind)
    elif kind in (OpKind.AVERAGE_POOL_2D, OpKind.MAX_POOL_2D):
        (x,) = need_inputs(1, 1)
        rank(x, 4, "input")
        rank(out, 4, "output")
        _positive(w, where, a, ("filter_h", "filter_w", "stride_h", "stride_w"))
        _padding(w, where, a.padding)
        oh = _window_out(w, where, x.shape[1], a.filter_h, a.stride_h, 1, a.padding.top, a.padding.bottom)
        ow = _window_out(w, where, x.shape[2], a.filter_w, a.stride_w, 1, a.padding.left, a.padding.right)
        out_is((x.shape[0], oh, ow, x.shape[3]))
        if checked_product((a.filter_h, a.filter_w)) is None:
            raise w.bad(where, f"pool window {a.filter_h}x{a.filter_w} overflows int32")
    elif kind in (OpKind.ADD, OpKind.SUB, OpKind.MUL):
        x, y = need_inputs(2, 2)
        try:
            shape = np.broadcast_shapes(tuple(x.shape), tuple(y.shape))
        except ValueError:
            raise w.bad(where, f"inputs {list(x.shape)} and {list(y.shape)} do not broadcast") from None
        out_is(shape)
    elif kind == OpKind.CONCATENATION:
        ins = need_inputs(1, 1 << 16)
        r = len(out.shape)
        if not isinstance(a.axis, int) or not 0 <= a.axis < r:
            raise w.bad(where, f"axis {a.axis} is out of range for rank {r}")
        total = 0
        for t in ins:
            if t is None or len(t.shape) != r or any(t.shape[d] != out.shape[d] for d in range(r) if d != a.axis):
                raise w.bad(where, f"input {list(t.shape) if t else None} does not concatenate into "
                                   f"{list(out.shape)} on axis {a.axis}")
            total += t.shape[a.axis]
        if total != out.shape[a.axis]:
            raise w.bad(where, f"inputs add up to {total} on axis {a.axis}, output has {out.shape[a.axis]}")
    elif kind == OpKind.PAD:
        x = need_inputs(1, 2)[0]
        pads = a.paddings
        if len(pads) != len(x.shape) or any(len(p) != 2 for p in pads):
            raise w.bad(where, f"paddings {pads} must be {len(x.shape)} (before, after) pairs")
        for p in pads:
            for v in p:
                if not isinstance(v, int) or not 0 <= v <= MAX_PAD:
                    raise w.bad(where, f"padding {v!r} must be an integer in [0, {MAX_PAD}]")
        out_is(tuple(d + b + e for d, (b, e) in zip(x.shape, pads)))
    elif kind == OpKind.MEAN:
        (x,) = need_inputs(1, 1)
        r = len(x.shape)
        if not a.axes or any(not isinstance(v, int) or not 0 <= v < r for v in a.axes):
            raise w.bad(where, f"axes {a.axes} out of range for rank {r}")
        if a.keep_dims:
            shape = tuple(1 if d in a.axes else n for d, n in enumerate(x.shape))
        else:
            shape = tuple(n for d, n in enumerate(x.shape) if d not in a.axes)
        if checked_product(shape) != out.size:
            raise w.bad(where, f"output '{out.name}' {list(out.shape)} does not hold the mean {list(shape)}")
    elif kind == OpKind.RESHAPE:
        (x,) = need_inputs(1, 1)
        if x.size != out.size:
            raise w.bad(where, f"reshape from {list(x.shape)} to {list(out.shape)} changes the element count")
    elif kind in _SAME_SHAPE:
        (x,) = need_inputs(1, 1)
        out_is(x.shape)
        if kind == OpKind.SOFTMAX and not (math.isfinite(a.beta) and a.beta > 0):
            raise w.bad(where, f"beta {a.beta} must be finite and > 0")
        if kind == OpKind.LEAKY_RELU and not math.isfinite(a.alpha):
            raise w.bad(where, f"alpha {a.alpha} must be finite")
        if kind == OpKind.SOFTMAX and (not x.shape or x.shape[-1] < 1):
            raise w.bad(where, f"input '{x.name}' {list(x.shape)} has no class axis")
    elif kind == OpKind.BATCH_NORM:
        need_inputs(5, 5)
        out_is(T[op.inputs[0]].shape)


def _positive(w: _Where, where: str, attrs, names: tuple) -> None:
    for n in names:
        v = getattr(attrs, n)
        if not isinstance(v, (int, np.integer)) or not 1 <= v <= MAX_ELEMENTS:
            raise w.bad(where, f"{n} is {v!r}, must be an integer >= 1")


def _padding(w: _Where, where: str, pad: ir.Padding) -> None:
    for n in ("top", "bottom", "left", "right"):
        v = getattr(pad, n)
        if not isinstance(v, (int, np.integer)) or not 0 <= v <= MAX_PAD:
            raise w.bad(where, f"padding.{n} is {v!r}, must be an integer in [0, {MAX_PAD}]")


def _window_out(w: _Where, where: str, size: int, k: int, stride: int, dilation: int, before: int,
                after: int) -> int:
    eff = (k - 1) * dilation + 1
    padded = size + before + after
    if k < 1 or eff > padded:
        raise w.bad(where, f"window {k} (dilation {dilation}) is larger than the padded input {padded}")
    if eff > MAX_ELEMENTS or padded > MAX_ELEMENTS:
        raise w.bad(where, "window arithmetic overflows int32")
    return (padded - eff) // stride + 1


def _bias(w: _Where, where: str, bias: Optional[ir.Tensor], n: int, const) -> None:
    if bias is None:
        return
    const(bias, "bias")
    if bias.size != n:
        raise w.bad(where, f"bias '{bias.name}' {list(bias.shape)} has {bias.size} values for {n} output channels")
    if bias.quant is not None and any(z != 0 for z in bias.quant.zero_point):
        raise w.bad(where, f"bias '{bias.name}' has a non-zero zero point {bias.quant.zero_point[:4]}")
    if bias.quant is not None and bias.quant.per_axis and len(bias.quant.scale) != n:
        raise w.bad(where, f"bias '{bias.name}' has {len(bias.quant.scale)} scales for {n} channels")


def _weights_quant(w: _Where, where: str, x: ir.Tensor, f: ir.Tensor, out: ir.Tensor, kind: OpKind) -> None:
    """Quantized filters: per-channel scales on the output-channel axis, symmetric (zero point 0)."""
    if f.quant is None or f.dtype not in _QUANTIZED:
        return
    q = f.quant
    if q.per_axis:
        want = {OpKind.CONV_2D: 0, OpKind.DEPTHWISE_CONV_2D: 3, OpKind.FULLY_CONNECTED: 0,
                OpKind.TRANSPOSE_CONV: 0}[kind]
        if q.axis != want:
            raise w.bad(where, f"filter '{f.name}' is quantized on axis {q.axis}, expected the output "
                               f"channel axis {want}")
    if kind != OpKind.FULLY_CONNECTED and any(z != 0 for z in q.zero_point):
        raise w.bad(where, f"filter '{f.name}' has a non-zero zero point; int8 filters are symmetric")
    if x.quant is None and x.dtype in _QUANTIZED:
        raise w.bad(where, f"input '{x.name}' has no quantization parameters")
