"""Lowering rule for the fast int8 depthwise kernel with a depth multiplier that is a multiple of 4
(runtime_c/conv/tg_depthwise_mult_s8_fast.c): a group of 4 output channels shares one input channel,
so each window is gathered once as int16 tap pairs and every group runs one SMLAD per pair and channel.
Registered ahead of the portable depthwise kernel; other multipliers fall through to fast.py / conv.py.
"""
from __future__ import annotations

import numpy as np

from tinygen.errors import UnsupportedError
from tinygen.ir import Graph, Op, OpKind
from tinygen.quant import qmath
from tinygen.lower import conv
from tinygen.lower.base import ConstArg, ConstArray, Literal, LoweredOp, TensorArg
from tinygen.lower.fast import _Fast, _records, acc_bound, folded_bias, pack_depthwise, raw_windows, register_first

MAX_MULT_TAPS = 128  # TG_DW_MULT_MAX_TAPS


def tap_order(fh: int, fw: int) -> np.ndarray:
    """The kernel's tap order (row-major; columns 0, 2, 1, 3 of each run of 4 when fw % 4 == 0)."""
    cols = np.arange(fw)
    if fw % 4 == 0:
        cols = (cols & ~3) | ((cols & 1) << 1) | ((cols >> 1) & 1)  # position -> column (an involution)
    return (np.arange(fh)[:, None] * fw + cols[None, :]).ravel()


def fold_output_offset(rec: np.ndarray, rq_words: int, bound: np.ndarray, offset: int):
    """Depthwise records with the output offset in each rounding high word (+ offset << post: the kernel
    then adds 0, (hi + (o << s)) >> s == (hi >> s) + o), or None when that sum could leave int32."""
    g = rec.reshape(-1, 4 * rq_words).astype(np.int64)
    r = g[:, 4:].reshape(len(g), 4, rq_words - 1)  # per channel: mult, round lo, round hi, post[, pre, mask]
    left = r[..., 4] > 0 if rq_words == 7 else np.zeros(r.shape[:2], bool)
    hi = np.where(left, 1 << 30, np.pad(bound, (0, len(g) * 4 - len(bound))).reshape(-1, 4) // 2 + 1)
    rnd_hi = np.maximum(np.int64(1) << r[..., 3], np.abs(r[..., 2]))  # a settled dead channel's: its output
    if np.any(hi + rnd_hi + 2 + (abs(offset) << r[..., 3]) >= 2**31):
        return None
    r[..., 2] += np.int64(offset) << r[..., 3]
    g[:, 4:] = r.reshape(len(g), -1)
    return g.astype(np.int32).reshape(rec.shape)


def settle_dead_channels(rec: np.ndarray, rq_words: int, rows: np.ndarray, bias_eff: np.ndarray, rq: conv.Requant):
    """(records, biases) with each channel whose weights are all zero (its accumulator is its bias: a constant
    output) given the equivalent record bias 0, multiplier 0, rounding term = its requantized bias, no shift
    (the kernels then compute exactly that constant). Such channels often keep an extreme shift, which
    would keep fold_output_offset from folding the layer's output offset."""
    dead = np.flatnonzero(~np.any(rows != 0, axis=1))
    if not len(dead):
        return rec, bias_eff
    n = rows.shape[0]
    mult, shift = (np.broadcast_to(np.asarray(v, np.int64), (n,)) for v in (rq.mult, rq.shift))
    q = qmath.multiply_by_quantized_multiplier(bias_eff.astype(np.int64)[dead], mult[dead], shift[dead])
    g = rec.reshape(-1, 4 * rq_words).astype(np.int64)
    grp, ch = dead // 4, dead % 4
    base = 4 + ch * (rq_words - 1)  # the channel's record after the group's 4 biases: mult, round lo, hi, ...
    g[grp, ch] = 0
    for k in range(rq_words - 1):
        g[grp, base + k] = q if k == 2 else 0  # round hi = the constant; post (and pre, mask) 0
    bias = bias_eff.copy()
    bias[dead] = 0
    return g.astype(np.int32).reshape(rec.shape), bias


def folded_records(rec: np.ndarray, rq_words: int, rows: np.ndarray, bias_eff: np.ndarray, rq: conv.Requant):
    """(output offset to pass, records) of a GEMM layer: dead channels settled, then the output offset folded
    into the records where fold_output_offset can (offset 0), else the records and rq.output_offset."""
    settled, bias = settle_dead_channels(rec, rq_words, rows, bias_eff, rq)
    folded = fold_output_offset(settled, rq_words, acc_bound(rows, bias), rq.output_offset)
    return (rq.output_offset, rec) if folded is None else (0, folded)


class FastDepthwiseMult(_Fast):
    """DEPTHWISE_CONV_2D with depth multiplier % 4 == 0: a window of one input channel x 4 output channels."""

    kinds = (OpKind.DEPTHWISE_CONV_2D,)

    def shape_ok(self, op: Op, graph: Graph) -> bool:
        x, w = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1])
        m = op.attrs.depth_multiplier
        return m > 1 and m % 4 == 0 and w.encoding is None and len(x.shape) == 4 and len(w.shape) == 4 \
            and w.shape[0] == 1 and w.shape[3] == x.shape[3] * m and w.shape[1] * w.shape[2] <= MAX_MULT_TAPS

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, w, b, y = conv._tensors(op, graph)
        a = op.attrs
        n, in_h, in_w, in_c = x.shape
        _, out_h, out_w, out_c = y.shape
        _, fh, fw, wc = w.shape
        m = a.depth_multiplier
        if out_c != wc or out_c != in_c * m:
            raise UnsupportedError(f"layer '{op.name}': filter {w.shape} does not fit output {y.shape}")
        rq = conv.conv_requant(op, x, w, y, out_c, 3)
        taps = np.asarray(w.data, np.int8).reshape(fh * fw, out_c)
        zp = -rq.input_offset
        bias_eff = folded_bias(None if b is None else b.data, taps.T, rq.input_offset)
        rq_words, rec = _records(op, rq, taps.T, bias_eff)
        ordered = np.zeros((-(-fh * fw // 4) * 4, out_c), np.int8)  # zero taps up to a multiple of 4
        ordered[:fh * fw] = taps[tap_order(fh, fw)]
        consts = [ConstArray("quant", rec), ConstArray("wpack", pack_depthwise(ordered))]
        args = [Literal(a.stride_h), Literal(a.stride_w), Literal(a.dilation_h), Literal(a.dilation_w),
                Literal(a.padding.top), Literal(a.padding.left), Literal(zp),
                Literal(rq.output_offset), Literal(rq.act_min), Literal(rq.act_max),
                ConstArg(0), Literal(rq_words),
                Literal(n), Literal(in_h), Literal(in_w), Literal(in_c), TensorArg(x.name),
                Literal(fh), Literal(fw), Literal(m), ConstArg(1),
                Literal(out_h), Literal(out_w), TensorArg(y.name, const=False)]

        def reference(inputs):
            win = raw_windows(inputs[0], fh, fw, a, out_h, out_w, zp)  # (n, oh, ow, fh, fw, in_c)
            win = np.repeat(win, m, axis=-1)  # output channel ic * m + k reads input channel ic
            acc = np.einsum("nyxhwc,hwc->nyxc", win, taps.reshape(fh, fw, out_c).astype(np.int64)) + bias_eff
            return [conv.finish(acc, None, rq)]

        return LoweredOp(op, "tg_depthwise_mult_s8_fast", ("tg_depthwise_mult_s8_fast.c",), args, consts,
                         reference, macs=n * out_h * out_w * out_c * fh * fw, scratch_bytes=0,
                         notes={"kernel": "fast", "per_channel": rq.per_channel, "path": "multiplier"})


register_first(FastDepthwiseMult())
