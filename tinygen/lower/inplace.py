"""In-place variants of CONV_2D (1x1, or stride 1 same size with a ring of input rows in scratch),
DEPTHWISE_CONV_2D (strided, or stride 1 with a ring of input rows in scratch) and the fast ADD / SUB
(over an input read by it only): the output is written over the input.

Same math as `conv.py` (its portable lowering supplies the precomputed multipliers, weights, bias and
the NumPy reference; only the C call changes, whatever kernel the op was lowered to first), run in an
order that reads every input value before it is
overwritten. A variant sets `LoweredOp.inplace_of = <input tensor>`; the planner then ties the
output's offset to the input's. The C kernels are also correct when the planner keeps them apart.

`rewrite` swaps in variants only where they lower the arena's live-set peak, so the other layers keep
their ordinary (possibly optimized) kernels.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from tinygen.memory import plan as planner
from tinygen.lower.csig import args_by_name
from tinygen.ir import Graph, OpKind
from tinygen.lower.base import ConstArg, Literal, LoweredOp, ScratchArg, TensorArg
from tinygen.errors import UnsupportedError
from tinygen.lower.fast import GEMM_SOURCES
from tinygen.lower.conv import Conv2DKernel, DepthwiseConv2DKernel, conv_requant


def _single_use(graph: Graph, tensor: str, op) -> bool:
    """The tensor is an arena activation read by this op only (so it may be overwritten by it)."""
    if tensor in graph.inputs or tensor in graph.outputs or graph.tensors[tensor].is_const:
        return False
    readers = [o for o in graph.ops if tensor in o.inputs]
    return readers == [op] and op.inputs.count(tensor) == 1


def _portable(kernel, op, graph: Graph):
    """conv.py's lowering of the op (multipliers, weights, bias, reference), or None if it does not apply."""
    if not kernel.supports(op, graph):
        return None
    try:
        return kernel.lower(op, graph)
    except UnsupportedError:
        return None


def _const_index(lop: LoweredOp, suffix: str):
    for i, ca in enumerate(lop.const_arrays):
        if ca.suffix == suffix:
            return i
    return None


def _quant_args(rq, lop: LoweredOp) -> list:
    return [Literal(rq.input_offset), Literal(rq.output_offset), Literal(rq.act_min), Literal(rq.act_max),
            ConstArg(_const_index(lop, "mult")), ConstArg(_const_index(lop, "shift")),
            Literal(int(rq.per_channel))]


def _bias(lop: LoweredOp):
    k = _const_index(lop, "bias")
    return Literal("NULL") if k is None else ConstArg(k)


def _fast(kernel, op, graph: Graph):
    """fast.py's lowering of the op (packed weights, requant records), or None if it does not apply."""
    from tinygen.lower import fast

    k = getattr(fast, kernel)()
    return k.lower(op, graph) if k.supports(op, graph) else None


def conv1x1_variant(lop: LoweredOp, graph: Graph):
    """tg_inplace_conv1x1_s8 for a 1x1, stride-1, unpadded, ungrouped CONV_2D; None if it does not apply."""
    op = lop.op
    v = _conv1x1_fast(op, graph)
    if v is not None:
        return v
    if op.kind != OpKind.CONV_2D:
        return None
    x, w, y = (graph.tensors[op.inputs[0]], graph.tensors[op.inputs[1]], graph.tensors[op.outputs[0]])
    a = op.attrs
    if len(x.shape) != 4 or len(y.shape) != 4 or len(w.shape) != 4:
        return None
    lop = _portable(Conv2DKernel(), op, graph)
    if lop is None:
        return None
    n, h, wd, in_c = x.shape
    out_c, fh, fw, fi = w.shape
    if (fh, fw, a.stride_h, a.stride_w, a.padding.top, a.padding.left) != (1, 1, 1, 1, 0, 0) \
            or fi != in_c or tuple(y.shape) != (n, h, wd, out_c):
        return None
    if None in (_const_index(lop, "mult"), _const_index(lop, "shift"), _const_index(lop, "w")):
        return None
    rq = conv_requant(op, x, w, y, out_c, 0)
    args = [ScratchArg(), *_quant_args(rq, lop),
            Literal(n * h * wd), Literal(in_c), TensorArg(x.name),
            ConstArg(_const_index(lop, "w")), _bias(lop), Literal(out_c), TensorArg(y.name, const=False)]
    return replace(lop, c_function="tg_inplace_conv1x1_s8", c_sources=("tg_inplace_conv1x1_s8.c",),
                   args=args, scratch_bytes=int(in_c),
                   inplace_of=x.name, notes={**lop.notes, "path": "1x1 in place"})


def _conv1x1_fast(op, graph: Graph):
    """tg_inplace_conv1x1_s8_fast (fast.py's constants) where the fast 1x1 path applies."""
    if op.kind != OpKind.CONV_2D:
        return None
    from tinygen.lower import fast

    fl = _fast("FastConv2D", op, graph)
    if fl is None or not fl.pointwise:
        return None
    x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    n, h, wd, in_c = x.shape
    a = args_by_name(fl)  # tg_conv2d_s8_fast's arguments, by parameter name
    args = [ScratchArg(), a["output_offset"], a["act_min"], a["act_max"], Literal(n * h * wd), Literal(in_c),
            TensorArg(x.name), a["filter"], a["wide"], a["quant"], a["rq_words"], a["out_c"],
            TensorArg(y.name, const=False)]
    extended = a["wide"].value == fast.CONV_EXTEND  # the pixel extended into scratch: two words per 4 values
    return replace(fl, c_function="tg_inplace_conv1x1_s8_fast", c_sources=("tg_inplace_conv1x1_s8_fast.c",
                   *GEMM_SOURCES), args=args, scratch_bytes=int(2 * in_c if extended else in_c),
                   inplace_of=x.name, notes={**fl.notes, "path": "1x1 in place"})


def _depthwise_fast(op, graph: Graph, rows: bool):
    """The fast depthwise kernel in place (raster order), or its row-ring variant."""
    fl = _fast("FastDepthwiseConv2D", op, graph)
    if fl is None:
        return None
    x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    if not rows:
        return replace(fl, inplace_of=x.name, notes={**fl.notes, "path": "in place"})
    _, h, wd, c = x.shape
    a = args_by_name(fl)  # tg_depthwise_conv2d_s8_fast's arguments, by parameter name
    args = [ScratchArg(), *(a[k] for k in ("dilation_h", "dilation_w", "pad_top", "pad_left", "zp_px",
                                           "output_offset", "act_min", "act_max", "quant", "rq_words")),
            Literal(h), Literal(wd), Literal(c), TensorArg(x.name), a["filter_h"], a["filter_w"], a["filter"],
            TensorArg(y.name, const=False)]
    return replace(fl, c_function="tg_inplace_depthwise_rows_s8_fast",
                   c_sources=("tg_inplace_depthwise_rows_s8_fast.c", "tg_depthwise_s8_fast_pixel.c"),
                   args=args, scratch_bytes=int((op.attrs.padding.top + 1) * wd * c),
                   inplace_of=x.name, notes={**fl.notes, "path": "in place, row ring"})


def depthwise_last_reader(in_h: int, in_w: int, out_h: int, out_w: int, fh: int, fw: int, attrs) -> np.ndarray:
    """For each input pixel (raster index), the last output pixel whose window may read it (-1: none).

    Windows are taken as the full box from the first to the last tap, so dilation is over-approximated.
    """
    last = np.full((in_h, in_w), -1, dtype=np.int64)
    for oy in range(out_h):
        y0 = oy * attrs.stride_h - attrs.padding.top
        y1 = y0 + (fh - 1) * attrs.dilation_h
        if y1 < 0 or y0 >= in_h:
            continue
        for ox in range(out_w):
            x0 = ox * attrs.stride_w - attrs.padding.left
            x1 = x0 + (fw - 1) * attrs.dilation_w
            if x1 < 0 or x0 >= in_w:
                continue
            last[max(y0, 0):min(y1, in_h - 1) + 1, max(x0, 0):min(x1, in_w - 1) + 1] = oy * out_w + ox
    return last.ravel()


def depthwise_inplace_safe(in_h: int, in_w: int, out_h: int, out_w: int, fh: int, fw: int, attrs) -> bool:
    """True when tg_inplace_depthwise_s8's raster order never overwrites an input pixel still to be read:
    output pixel q is written over input pixel q, so no output pixel after q may read input pixel q."""
    last = depthwise_last_reader(in_h, in_w, out_h, out_w, fh, fw, attrs)
    q = np.arange(min(out_h * out_w, in_h * in_w))
    return bool(np.all(last[q] <= q))


def depthwise_variant(lop: LoweredOp, graph: Graph):
    """tg_inplace_depthwise_s8 for a depth-multiplier-1 DEPTHWISE_CONV_2D whose geometry allows it."""
    op = lop.op
    if op.kind != OpKind.DEPTHWISE_CONV_2D:
        return None
    x, w, y = (graph.tensors[op.inputs[0]], graph.tensors[op.inputs[1]], graph.tensors[op.outputs[0]])
    a = op.attrs
    if len(x.shape) != 4 or len(y.shape) != 4 or x.shape[0] != 1 or a.depth_multiplier != 1:
        return None
    lop = _portable(DepthwiseConv2DKernel(), op, graph)
    if lop is None:
        return None
    _, in_h, in_w, c = x.shape
    _, out_h, out_w, out_c = y.shape
    _, fh, fw, wc = w.shape
    if out_c != c or wc != c:
        return None
    if None in (_const_index(lop, "mult"), _const_index(lop, "shift"), _const_index(lop, "w")):
        return None
    if not depthwise_inplace_safe(in_h, in_w, out_h, out_w, fh, fw, a):
        return None
    v = _depthwise_fast(op, graph, rows=False)
    if v is not None:
        return v
    rq = conv_requant(op, x, w, y, out_c, 3)
    args = [Literal(a.stride_h), Literal(a.stride_w), Literal(a.dilation_h), Literal(a.dilation_w),
            Literal(a.padding.top), Literal(a.padding.left), *_quant_args(rq, lop),
            Literal(in_h), Literal(in_w), Literal(c), TensorArg(x.name),
            Literal(fh), Literal(fw), ConstArg(_const_index(lop, "w")), _bias(lop),
            Literal(out_h), Literal(out_w), TensorArg(y.name, const=False)]
    return replace(lop, c_function="tg_inplace_depthwise_s8", c_sources=("tg_inplace_depthwise_s8.c",),
                   args=args, scratch_bytes=0, inplace_of=x.name, notes={**lop.notes, "path": "in place"})


def depthwise_rows_variant(lop: LoweredOp, graph: Graph):
    """tg_inplace_depthwise_rows_s8 for a stride-1, same-size, depth-multiplier-1 DEPTHWISE_CONV_2D."""
    op = lop.op
    if op.kind != OpKind.DEPTHWISE_CONV_2D:
        return None
    x, w, y = (graph.tensors[op.inputs[0]], graph.tensors[op.inputs[1]], graph.tensors[op.outputs[0]])
    a = op.attrs
    if len(x.shape) != 4 or tuple(y.shape) != tuple(x.shape) or x.shape[0] != 1 or a.depth_multiplier != 1 \
            or (a.stride_h, a.stride_w) != (1, 1) or a.padding.top < 0:
        return None
    lop = _portable(DepthwiseConv2DKernel(), op, graph)
    if lop is None:
        return None
    _, h, wd, c = x.shape
    _, fh, fw, wc = w.shape
    if wc != c or None in (_const_index(lop, "mult"), _const_index(lop, "shift"), _const_index(lop, "w")):
        return None
    v = _depthwise_fast(op, graph, rows=True)
    if v is not None:
        return v
    rq = conv_requant(op, x, w, y, c, 3)
    args = [ScratchArg(), Literal(a.dilation_h), Literal(a.dilation_w), Literal(a.padding.top),
            Literal(a.padding.left), *_quant_args(rq, lop),
            Literal(h), Literal(wd), Literal(c), TensorArg(x.name),
            Literal(fh), Literal(fw), ConstArg(_const_index(lop, "w")), _bias(lop), TensorArg(y.name, const=False)]
    return replace(lop, c_function="tg_inplace_depthwise_rows_s8",
                   c_sources=("tg_inplace_depthwise_rows_s8.c",),
                   args=args, scratch_bytes=int((a.padding.top + 1) * wd * c),
                   inplace_of=x.name, notes={**lop.notes, "path": "in place, row ring"})


def conv_rows_variant(lop: LoweredOp, graph: Graph):
    """tg_inplace_conv_rows_s8_fast for a stride-1, same-size, one-batch CONV_2D with out_c <= in_c
    (fast.py's constants; a ring of pad_top + 1 input rows in scratch after the kernel's column)."""
    op = lop.op
    if op.kind != OpKind.CONV_2D or op.attrs.padding.top < 0 or (op.attrs.stride_h, op.attrs.stride_w) != (1, 1):
        return None
    x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    if len(x.shape) != 4 or len(y.shape) != 4 or x.shape[0] != 1 or tuple(y.shape[:3]) != tuple(x.shape[:3]) \
            or y.shape[3] > x.shape[3]:
        return None
    fl = lop  # only the int8 fast kernel's constants (a low-bit or Helium lowering keeps its kernel)
    if fl.c_function != "tg_conv2d_s8_fast" or fl.pointwise:
        return None
    _, h, wd, in_c = x.shape
    a = args_by_name(fl)  # tg_conv2d_s8_fast's arguments, by parameter name
    if a["filter_h"].value > MAX_ROWS_TAPS:
        return None
    args = [ScratchArg(), *(a[k] for k in ("dilation_h", "dilation_w", "pad_top", "pad_left", "input_zp", "zp_px",
                                           "output_offset", "act_min", "act_max")), Literal(h), Literal(wd), Literal(in_c),
            TensorArg(x.name), *(a[k] for k in ("filter_h", "filter_w", "filter", "wide", "quant", "rq_words",
                                                "out_c")), TensorArg(y.name, const=False)]
    column = -(-fl.scratch_bytes // 4) * 4
    return replace(fl, c_function="tg_inplace_conv_rows_s8_fast",
                   c_sources=("tg_inplace_conv_rows_s8_fast.c", "tg_conv2d_s8_fast.c", *GEMM_SOURCES), args=args,
                   scratch_bytes=int(column + (op.attrs.padding.top + 1) * wd * in_c),
                   inplace_of=x.name, notes={**fl.notes, "path": "in place, row ring"})


MAX_ROWS_TAPS = 25  # TG_CONV_FAST_MAX_TAPS: filter rows held as pointers


VARIANTS = (conv1x1_variant, depthwise_variant, depthwise_rows_variant, conv_rows_variant)


def add_variant(lop: LoweredOp, graph: Graph):
    """tg_add_s8_fast writing over one of its inputs (element i is read before it is written) when that
    input is an activation of the output's shape read by this op only."""
    op = lop.op
    if lop.c_function != "tg_add_s8_fast" or len(op.inputs) != 2 or lop.inplace_of is not None:
        return None
    y = graph.tensors[op.outputs[0]]
    for name in op.inputs:
        t = graph.tensors[name]
        if _single_use(graph, name, op) and tuple(t.shape) == tuple(y.shape) and t.dtype == y.dtype:
            return replace(lop, inplace_of=name, notes={**lop.notes, "path": "in place"})
    return None


def variant(lop: LoweredOp, graph: Graph):
    """The in-place variant of a lowered op, or None when there is none or its input is read elsewhere."""
    if lop.op.kind in (OpKind.ADD, OpKind.SUB):
        return add_variant(lop, graph)
    if lop.op.inputs and lop.op.inputs[0] is not None and not _single_use(graph, lop.op.inputs[0], lop.op):
        return None
    if lop.notes.get("kernel") == "mve":  # Helium kernels (lower/mve.py) have no in-place variant: keep them
        return None
    for make in VARIANTS:
        v = make(lop, graph)
        if v is not None:
            return v
    return None


def _peak(graph: Graph, lowered: list) -> tuple:
    """(live-set peak, how many ops reach it): a rewrite that removes one of several equal peaks counts."""
    buffers, _ = planner.liveness(graph, lowered)
    prof = planner.live_profile(buffers)
    top = max(prof, default=0)
    return top, prof.count(top)


def rewrite(graph: Graph, lowered: list) -> list:
    """Swap in in-place variants, one at a time, while each lowers the live-set peak (or the number of
    ops at the peak); then keep the
    result only if the planned arena is smaller too. Returns a new list (the input is not changed)."""
    candidates = {}
    for i, lop in enumerate(lowered):
        v = variant(lop, graph)
        if v is not None:
            candidates[i] = v
    if not candidates:
        return list(lowered)
    current = list(lowered)
    peak = _peak(graph, current)
    while candidates:
        best = None
        for i, v in candidates.items():
            trial = current[:i] + [v] + current[i + 1:]
            p = _peak(graph, trial)
            if p < peak and (best is None or p < best[1]):
                best = (i, p)
        if best is None:
            break
        i, peak = best
        current[i] = candidates.pop(i)
    if all(a is b for a, b in zip(current, lowered)):  # LoweredOps hold arrays: compare identity
        return current
    before = planner.plan(graph, lowered, exact=False).arena_bytes
    after = planner.plan(graph, current, exact=False).arena_bytes
    return current if after < before else list(lowered)
