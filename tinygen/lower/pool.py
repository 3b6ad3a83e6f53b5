"""Lowering of int8 AVERAGE_POOL_2D, MAX_POOL_2D and MEAN to runtime_c/pool/ (tg_avgpool_s8.c, tg_maxpool_s8.c,
tg_mean_s8.c).

References follow TFLM's integer kernels: windows clipped to the input, rounded integer average.
"""
from __future__ import annotations

import numpy as np

from tinygen.errors import UnsupportedError
from tinygen.ir import Graph, Op, OpKind
from tinygen.quant import qmath
from tinygen.lower.base import Kernel, Literal, LoweredOp, TensorArg, register


def all_int8(op: Op, graph: Graph) -> bool:
    """True when every input and output of the op is an int8 tensor."""
    names = [t for t in op.inputs if t is not None] + list(op.outputs)
    return all(graph.tensors[t].dtype == "int8" for t in names)


def fused_range(op: Op, graph: Graph) -> tuple:
    """Quantized (min, max) of the op's fused activation on its int8 output."""
    out = graph.tensors[op.outputs[0]]
    return qmath.activation_range(op.attrs.activation, out.scale, out.zero_point, -128, 127)


def c_div_round(acc: np.ndarray, count: np.ndarray) -> np.ndarray:
    """acc / count rounded half away from zero, as C's truncating (acc +- count/2) / count."""
    half = count // 2
    pos = (acc + half) // count
    neg = -((-acc + half) // count)
    return np.where(acc > 0, pos, neg)


def pool_reference(kind: OpKind, x: np.ndarray, out_hw: tuple, attrs, act: tuple,
                   dtype=np.int8) -> np.ndarray:
    """NumPy AVERAGE/MAX pool over NHWC `x` (int8, or int16 with dtype=np.int16), windows clipped to
    the input; the max starts from dtype's lowest value and the result is clamped to `act` and cast
    to dtype."""
    n, in_h, in_w, c = x.shape
    out_h, out_w = out_hw
    lowest = int(np.iinfo(dtype).min)
    xs = x.astype(np.int64)
    out = np.empty((n, out_h, out_w, c), dtype=np.int64)
    for oy in range(out_h):
        y0 = oy * attrs.stride_h - attrs.padding.top
        ys = slice(max(y0, 0), min(y0 + attrs.filter_h, in_h))
        for ox in range(out_w):
            x0 = ox * attrs.stride_w - attrs.padding.left
            xs_ = slice(max(x0, 0), min(x0 + attrs.filter_w, in_w))
            win = xs[:, ys, xs_, :]
            if kind == OpKind.MAX_POOL_2D:
                out[:, oy, ox, :] = win.max(axis=(1, 2), initial=lowest)
            else:
                count = win.shape[1] * win.shape[2]
                out[:, oy, ox, :] = c_div_round(win.sum(axis=(1, 2)), np.int64(count))
    return np.clip(out, act[0], act[1]).astype(dtype)


class Pool2DS8(Kernel):
    """int8 average / max pooling, NHWC, explicit padding (only top/left matter: the output shape
    fixes the rest)."""

    kinds = (OpKind.AVERAGE_POOL_2D, OpKind.MAX_POOL_2D)

    def supports(self, op: Op, graph: Graph) -> bool:
        return all_int8(op, graph) and len(graph.tensors[op.inputs[0]].shape) == 4

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        a = op.attrs
        x_t, y_t = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
        n, in_h, in_w, c = x_t.shape
        out_h, out_w = y_t.shape[1], y_t.shape[2]
        if y_t.shape[0] != n or y_t.shape[3] != c:
            raise UnsupportedError(f"layer '{op.name}' ({op.kind.value}): output shape {y_t.shape} "
                                   f"does not match input {x_t.shape} in batch or channels")
        for oy, ox in ((0, 0), (out_h - 1, out_w - 1)):  # the corners are the emptiest windows
            y0, x0 = oy * a.stride_h - a.padding.top, ox * a.stride_w - a.padding.left
            if min(y0 + a.filter_h, in_h) <= max(y0, 0) or min(x0 + a.filter_w, in_w) <= max(x0, 0):
                raise UnsupportedError(f"layer '{op.name}' ({op.kind.value}): a pooling window "
                                       f"lies entirely in the padding")
        act = fused_range(op, graph)
        fn = "tg_avgpool_s8" if op.kind == OpKind.AVERAGE_POOL_2D else "tg_maxpool_s8"
        lit = [Literal(v) for v in (a.stride_h, a.stride_w, a.padding.top, a.padding.left,
                                    a.filter_h, a.filter_w, act[0], act[1], n, in_h, in_w, c)]
        args = lit + [TensorArg(op.inputs[0]), Literal(out_h), Literal(out_w),
                      TensorArg(op.outputs[0], const=False)]

        def reference(inputs: list) -> list:
            return [pool_reference(op.kind, np.asarray(inputs[0]), (out_h, out_w), a, act)]

        return LoweredOp(op, fn, (fn + ".c",), args, [], reference,
                         macs=0)  # MACs count multiply-accumulates with weights only


def extend4(shape: tuple) -> tuple:
    """Shape padded to rank 4 with leading 1s (tinygen's C kernels are 4-D)."""
    if len(shape) > 4:
        raise UnsupportedError(f"rank {len(shape)} > 4")
    return (1,) * (4 - len(shape)) + tuple(int(d) for d in shape)


def mean_params(in_scale: float, in_zp: int, out_scale: float, out_zp: int, count: int) -> tuple:
    """(requantize, mult, shift) of TFLM's int8 / int16 MEAN: in_scale/out_scale with 1/count folded into
    the multiplier. Always requantize = 1: TFLM (tflite_micro 2026) rescales even when input and output
    share quantization (older TFLM divided the sum there; tests/kernels/test_reduce_ops.py pins it)."""
    mult, shift = qmath.quantize_multiplier(in_scale / out_scale)
    # floor(log2(count)), capped so the product stays in int64 and the final shift >= -31
    # (quantize_multiplier flushes shifts below -31, so 31 + shift >= 0 here).
    extra = min(count.bit_length() - 1, 32, 31 + shift)
    mult = (mult << extra) // count
    return 1, int(mult), int(shift - extra)


class MeanS8(Kernel):
    """int8 MEAN over any axes of a tensor of rank <= 4, keep_dims or not."""

    kinds = (OpKind.MEAN,)

    def supports(self, op: Op, graph: Graph) -> bool:
        return all_int8(op, graph) and len(graph.tensors[op.inputs[0]].shape) <= 4

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x_t, y_t = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
        rank = len(x_t.shape)
        dims = extend4(x_t.shape)
        axes = sorted({int(ax) % rank for ax in op.attrs.axes}) if rank else []
        reduced = [0] * 4
        for ax in axes:
            reduced[ax + 4 - rank] = 1
        count = int(np.prod([d for d, r in zip(dims, reduced) if r], dtype=np.int64))
        kept = [d for d, r in zip(dims, reduced) if not r]
        if int(np.prod(kept, dtype=np.int64)) != y_t.size:
            raise UnsupportedError(f"layer '{op.name}' (MEAN): output shape {y_t.shape} does not "
                                   f"match input {x_t.shape} reduced over axes {tuple(axes)}")
        requant, mult, shift = mean_params(x_t.scale, x_t.zero_point, y_t.scale, y_t.zero_point,
                                           count)
        in_zp, out_zp = x_t.zero_point, y_t.zero_point
        args = [Literal(r) for r in reduced] + [Literal(v) for v in (requant, in_zp, out_zp, mult, shift)]
        args += [Literal(d) for d in dims] + [TensorArg(op.inputs[0]),
                                             TensorArg(op.outputs[0], const=False)]
        red_axes = tuple(k for k in range(4) if reduced[k])
        out_shape = y_t.shape

        def reference(inputs: list) -> list:
            x = np.asarray(inputs[0], dtype=np.int64).reshape(dims)
            s = x.sum(axis=red_axes)
            if requant:
                y = qmath.requantize(s - in_zp * count, mult, shift, out_zp, -128, 127)
            else:
                y = np.where(s >= 0, s // count, -((-s) // count))  # C truncating division
            return [np.asarray(y).astype(np.int8).reshape(out_shape)]

        return LoweredOp(op, "tg_mean_s8", ("tg_mean_s8.c",), args, [], reference,
                         macs=0, notes={"requantize": bool(requant)})


register(Pool2DS8())
register(MeanS8())
