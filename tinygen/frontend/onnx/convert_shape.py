"""ONNX shape nodes (Flatten, Reshape, Squeeze, Unsqueeze, Transpose, Concat, Split, Slice, Pad, Reduce*) on
values stored in another layout than ONNX's: axes are mapped through the layout, a Transpose only changes
the recorded layout, and a reshape keeps data in place whenever some layout describes the result."""
from __future__ import annotations

import itertools

import numpy as np

from tinygen import ir
from tinygen.frontend.onnx.builder import CHANNELS_LAST, Builder, Val, flat_order, inverse
from tinygen.frontend.onnx.fold import attrs
from tinygen.ir import OpKind


def reshape_to(b: Builder, v: Val, shape: tuple) -> None:
    """Output 0 is `v` with ONNX shape `shape`: a RESHAPE of the stored data in ONNX order, channels-last,
    or as a reordered (1, K) row, whichever keeps the element order; else a TRANSPOSE first."""
    shape = tuple(int(d) for d in shape)
    src = flat_order(v)
    cands = [CHANNELS_LAST[len(shape)]] if len(shape) in CHANNELS_LAST else []
    cands.append(None)
    if len(shape) <= 5:  # any layout of the result that keeps the stored order (e.g. NHWC unsqueezed)
        cands.extend(itertools.permutations(range(len(shape))))
    # IR tensors keep the batch axis (size 1) first: prefer layouts that do (a GRU's [time, 1, hidden] output)
    cands.sort(key=lambda p: (shape[p[0]] if p is not None else shape[0]) != 1)
    for perm in cands:
        if np.array_equal(src, flat_order(Val(shape, perm=perm))):
            perm = None if perm is None or tuple(perm) == tuple(range(len(shape))) else tuple(perm)
            ir_shape = tuple(shape[p] for p in perm) if perm else shape
            b.set(0, Val(shape, ir=_reshape(b, v.ir, ir_shape), perm=perm))
            return
    if _transposed_to_channels_last(b, v, src, shape):
        return
    if len(shape) == 2 and shape[0] == 1:
        unflat = v.unflat if v.order is not None else (b.ir_shape(v), v.perm) if v.perm is not None else None
        b.set(0, Val(shape, ir=_reshape(b, v.ir, shape), order=src, unflat=unflat))
        return
    v = b.plain(v)
    b.set(0, Val(shape, ir=_reshape(b, v.ir, shape)))


def _transposed_to_channels_last(b: Builder, v: Val, src: np.ndarray, shape: tuple) -> bool:
    """A rank-3/4 result that no layout of the stored data describes (e.g. a channel shuffle): when one
    TRANSPOSE of the stored data gives it channels-last, use it (then a RESHAPE); no NCHW detour."""
    if len(shape) not in CHANNELS_LAST or v.order is not None or len(b.ir_shape(v)) > 5:
        return False
    perm = CHANNELS_LAST[len(shape)]
    target = flat_order(Val(shape, perm=perm))
    stored = src.reshape(b.ir_shape(v))
    for t in itertools.permutations(range(stored.ndim)):
        if np.array_equal(np.transpose(stored, t).reshape(-1), target):
            moved = tuple(stored.shape[i] for i in t)
            from tinygen.ops.layout_moves import TransposeAttrs
            x = b.op(OpKind.TRANSPOSE, [v.ir], moved, TransposeAttrs(tuple(t)), "/transpose")
            b.set(0, Val(shape, ir=_reshape(b, x, tuple(shape[p] for p in perm)), perm=perm))
            return True
    return False


def _reshape(b: Builder, x: str, shape: tuple) -> str:
    if b.g.tensors[x].shape == tuple(shape):
        return x
    return b.op(OpKind.RESHAPE, [x], shape, ir.ReshapeAttrs())


def flatten(b: Builder) -> None:
    v = b.act_input(0)
    axis = attrs(b.node).get("axis", 1) % max(len(v.shape), 1)
    reshape_to(b, v, (int(np.prod(v.shape[:axis])), int(np.prod(v.shape[axis:]))))


def reshape(b: Builder) -> None:
    v = b.act_input(0)
    target = [int(d) for d in b.const_input(1, "shape")]
    if attrs(b.node).get("allowzero", 0) == 0:
        target = [v.shape[i] if d == 0 else d for i, d in enumerate(target)]
    if -1 in target:
        known = int(np.prod([d for d in target if d != -1]))
        target[target.index(-1)] = int(np.prod(v.shape)) // max(known, 1)
    if int(np.prod(target)) != int(np.prod(v.shape)):
        raise b.fail(f"cannot reshape {list(v.shape)} to {target}")
    reshape_to(b, v, tuple(target))


def _axes(b: Builder, rank: int):
    axes = b.const_input(1, "axes") if len(b.node.input) > 1 and b.node.input[1] else attrs(b.node).get("axes")
    return None if axes is None else sorted(int(a) % rank for a in axes)


def squeeze(b: Builder) -> None:
    v = b.act_input(0)
    axes = _axes(b, len(v.shape))
    axes = [i for i, d in enumerate(v.shape) if d == 1] if axes is None else axes
    reshape_to(b, v, tuple(d for i, d in enumerate(v.shape) if i not in axes))


def unsqueeze(b: Builder) -> None:
    v = b.act_input(0)
    axes = _axes(b, len(v.shape) + len(b.const_input(1, "axes") if len(b.node.input) > 1 else attrs(b.node)["axes"]))
    shape = list(v.shape)
    for a in axes:
        shape.insert(a, 1)
    reshape_to(b, v, tuple(shape))


def transpose(b: Builder) -> None:
    """Only the recorded layout changes: the stored data already is the output in some order."""
    v = b.act_input(0)
    if v.order is not None:
        v = b.plain(v)
    t = attrs(b.node).get("perm") or list(range(len(v.shape)))[::-1]
    p = v.perm or tuple(range(len(v.shape)))
    inv_t = inverse(t)
    q = tuple(inv_t[i] for i in p)
    shape = tuple(v.shape[i] for i in t)
    b.set(0, Val(shape, ir=v.ir, perm=None if q == tuple(range(len(q))) else q))


def concat(b: Builder) -> None:
    axis = attrs(b.node)["axis"]
    vals = [b.act_input(i) for i in range(len(b.node.input))]
    if len({v.perm for v in vals}) > 1 or any(v.order is not None for v in vals):
        vals = [b.plain(v) for v in vals]
    v0 = vals[0]
    rank = len(v0.shape)
    axis %= rank
    ir_axis = b.ir_axis(v0, axis)
    shape = list(v0.shape)
    shape[axis] = sum(v.shape[axis] for v in vals)
    ir_shape = list(b.ir_shape(v0))
    ir_shape[ir_axis] = sum(b.ir_shape(v)[ir_axis] for v in vals)
    y = b.op(OpKind.CONCATENATION, [v.ir for v in vals], ir_shape, ir.ConcatAttrs(ir_axis))
    b.set(0, Val(tuple(shape), ir=y, perm=v0.perm))


def _slice_op(b: Builder, v: Val, ranges: dict, out: int, suffix: str) -> None:
    """Output `out`: `v` sliced by {onnx axis: (start, stop, step)} (resolved, Python-range style)."""
    ir_shape = b.ir_shape(v)
    begin, end, strides = [0] * len(ir_shape), list(ir_shape), [1] * len(ir_shape)
    shape = list(v.shape)
    for axis, (s, e, st) in ranges.items():
        i = b.ir_axis(v, axis)
        begin[i], end[i], strides[i] = s, e, st
        shape[axis] = len(range(s, e, st))
    ir_out = [len(range(s, e, st)) for s, e, st in zip(begin, end, strides)]
    y = b.op(OpKind.STRIDED_SLICE, [v.ir], ir_out, ir.StridedSliceAttrs(tuple(begin), tuple(end), tuple(strides)), suffix)
    b.set(out, Val(tuple(shape), ir=y, perm=v.perm))


def slice_(b: Builder) -> None:
    v = b.act_input(0)
    if v.order is not None:
        v = b.plain(v)
    starts, ends = b.const_input(1, "starts"), b.const_input(2, "ends")
    axes = b.const_input(3, "axes")
    steps = b.const_input(4, "steps")
    axes = range(len(starts)) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    ranges = {}
    for s, e, a, st in zip(starts, ends, axes, steps):
        a = int(a) % len(v.shape)
        ranges[a] = slice(int(max(min(s, 2**62), -2**62)), int(max(min(e, 2**62), -2**62)), int(st)).indices(v.shape[a])
        if ranges[a][2] < 0:
            raise b.fail("negative steps are not supported")
    _slice_op(b, v, ranges, 0, "")


def split(b: Builder) -> None:
    v = b.act_input(0)
    if v.order is not None:
        v = b.plain(v)
    a = attrs(b.node)
    axis = a.get("axis", 0) % len(v.shape)
    sizes = b.const_input(1, "split") if len(b.node.input) > 1 and b.node.input[1] else a.get("split")
    n = len(b.node.output)
    if sizes is None:
        size = -(-v.shape[axis] // n)
        sizes = [min(size, v.shape[axis] - i * size) for i in range(n)]
    start = 0
    for i, size in enumerate(int(s) for s in sizes):
        _slice_op(b, v, {axis: (start, start + size, 1)}, i, f"/{i}")
        start += size


def pad(b: Builder) -> None:
    v = b.act_input(0)
    if v.order is not None:
        v = b.plain(v)
    a = attrs(b.node)
    mode = a.get("mode", "constant")
    if mode not in ("constant", "reflect"):
        raise b.fail(f"mode '{mode}' is not supported (constant, reflect)")
    pads = [int(p) for p in b.const_input(1, "pads")]
    value = b.const_input(2, "constant_value")
    if value is not None and np.asarray(value).size and float(np.asarray(value).reshape(-1)[0]) != 0.0:
        raise b.fail("a non-zero constant_value is not supported")
    rank = len(v.shape)
    axes = b.const_input(3, "axes")
    axes = list(range(rank)) if axes is None else [int(x) % rank for x in axes]
    k = len(axes)
    per_axis = {ax: (pads[i], pads[i + k]) for i, ax in enumerate(axes)}
    if any(p < 0 for pair in per_axis.values() for p in pair):
        raise b.fail(f"negative pads {pads} are not supported")
    ir_pads = [(0, 0)] * rank
    shape = list(v.shape)
    for ax, (lo, hi) in per_axis.items():
        ir_pads[b.ir_axis(v, ax)] = (lo, hi)
        shape[ax] += lo + hi
    ir_shape = [n + lo + hi for n, (lo, hi) in zip(b.ir_shape(v), ir_pads)]
    if mode == "reflect":  # ONNX reflect does not repeat the edge: MIRROR_PAD REFLECT
        from tinygen.ops.pad_extra import MirrorPadAttrs
        y = b.op(OpKind.MIRROR_PAD, [v.ir], ir_shape, MirrorPadAttrs(tuple(ir_pads), "REFLECT"))
    else:
        y = b.op(OpKind.PAD, [v.ir], ir_shape, ir.PadAttrs(tuple(ir_pads)))
    b.set(0, Val(tuple(shape), ir=y, perm=v.perm))


def reduce(kind: OpKind):
    def convert(b: Builder) -> None:
        v = b.act_input(0)
        if v.order is not None:
            v = b.plain(v)
        a = attrs(b.node)
        rank = len(v.shape)
        axes = _axes(b, rank)
        if axes is None:
            if a.get("noop_with_empty_axes", 0):
                b.set(0, v)
                return
            axes = list(range(rank))
        keep = bool(a.get("keepdims", 1))
        ir_axes = tuple(sorted(b.ir_axis(v, ax) for ax in axes))
        ir_in = b.ir_shape(v)
        ir_out = [1 if i in ir_axes else n for i, n in enumerate(ir_in) if keep or i not in ir_axes]
        shape = [1 if i in axes else n for i, n in enumerate(v.shape) if keep or i not in axes]
        perm = v.perm if keep else _drop_axes(v.perm, axes)
        y = b.op(kind, [v.ir], ir_out, ir.MeanAttrs(axes=ir_axes, keep_dims=keep))
        b.set(0, Val(tuple(shape), ir=y, perm=perm))
    return convert


def _drop_axes(perm, axes):
    """The layout of a value once ONNX `axes` are removed: the kept axes, renumbered, in stored order."""
    if perm is None:
        return None
    kept = [p for p in perm if p not in axes]
    perm = tuple(sorted(kept).index(p) for p in kept)
    return None if perm == tuple(range(len(perm))) else perm


def gather(b: Builder) -> None:
    """Gather of an activation by constant indices: a scalar index is a STRIDED_SLICE that drops the axis; a 1-D
    list one STRIDED_SLICE per run of consecutive indices along the stored axis, concatenated (no int32 index
    tensor: the graph stays float32 for PTQ)."""
    v = b.plain(b.act_input(0)) if b.act_input(0).order is not None else b.act_input(0)
    idx = np.asarray(b.const_input(1, "indices")).astype(np.int64)
    axis = attrs(b.node).get("axis", 0) % len(v.shape)
    idx = np.where(idx < 0, idx + v.shape[axis], idx)
    if idx.size and (idx.min() < 0 or idx.max() >= v.shape[axis]):
        raise b.fail(f"indices {idx.tolist()} out of range for axis {axis} of {list(v.shape)}")
    ia = b.ir_axis(v, axis)
    ir_shape = list(b.ir_shape(v))
    if idx.ndim == 0:
        begin, end = [0] * len(ir_shape), list(ir_shape)
        begin[ia], end[ia] = int(idx), int(idx) + 1
        out = [n for i, n in enumerate(ir_shape) if i != ia]
        y = b.op(OpKind.STRIDED_SLICE, [v.ir], out,
                 ir.StridedSliceAttrs(tuple(begin), tuple(end), (1,) * len(ir_shape), (ia,)))
        shape = tuple(n for i, n in enumerate(v.shape) if i != axis)
        b.set(0, Val(shape, ir=y, perm=_drop_axes(v.perm, [axis])))
    elif idx.ndim == 1 and idx.size:
        runs = np.split(idx, np.flatnonzero(np.diff(idx) != 1) + 1)
        parts = []
        for k, run in enumerate(runs):
            begin, end, out = [0] * len(ir_shape), list(ir_shape), list(ir_shape)
            begin[ia], end[ia], out[ia] = int(run[0]), int(run[-1]) + 1, run.size
            parts.append(b.op(OpKind.STRIDED_SLICE, [v.ir], out, ir.StridedSliceAttrs(
                tuple(begin), tuple(end), (1,) * len(ir_shape)), f"/{k}" if len(runs) > 1 else ""))
        ir_shape[ia] = idx.size
        y = parts[0] if len(parts) == 1 else b.op(OpKind.CONCATENATION, parts, ir_shape, ir.ConcatAttrs(ia))
        shape = tuple(idx.size if i == axis else n for i, n in enumerate(v.shape))
        b.set(0, Val(shape, ir=y, perm=v.perm))
    else:
        raise b.fail(f"indices of rank {idx.ndim} are not supported (a scalar or a list)")


CONVERTERS = {
    "Gather": gather,
    "Flatten": flatten, "Reshape": reshape, "Squeeze": squeeze, "Unsqueeze": unsqueeze, "Transpose": transpose,
    "Concat": concat, "Split": split, "Slice": slice_, "Pad": pad,
    "ReduceMean": reduce(OpKind.MEAN), "ReduceMax": reduce(OpKind.REDUCE_MAX), "ReduceSum": reduce(OpKind.SUM),
}
