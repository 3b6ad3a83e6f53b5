"""Fast 16x8 CONV_2D, FULLY_CONNECTED (as a 1x1 CONV_2D) and DEPTHWISE_CONV_2D (runtime_c/conv/tg_conv2d_s16_fast.c,
tg_depthwise_conv2d_s16_fast.c; their pieces in runtime_c/include/tg_s16_fast.h), and int16 ADD / SUB of
same-shape tensors (runtime_c/elementwise/tg_add_s16_fast.c, its identities in tg_add_s16_fast.h).

Offline work that keeps the output step and the inner loops short, each proven exact at build time:
- the accumulator: 32768 * sum |w| of every output channel's filter below 2^31, so window sums are exact in
  int32 (no int64 accumulation, no chunking);
- the output step: TFLM's int64 requantization (acc + b) * reduced + 2^(ts - 1) >> ts, with `reduced` the
  multiplier rounded to Q0.15 and ts = 15 - shift, becomes the high word of acc * red + bias with
  red = reduced << (32 - ts) below 2^31 and bias = (b * reduced + 2^(ts - 1)) << (32 - ts) below 2^62 in
  magnitude: the same integer (times 2^(32 - ts) before the division by 2^32), no int64 overflow;
- CONV_2D weights packed in blocks of four output channels, per group of four inputs one word per channel
  with the bytes (w0, w2, w1, w3): SXTB16 / SXTB16 ROR #8 give (w0, w1), (w2, w3), matching the words of
  consecutive int16 inputs read in place (the inputs are never re-paired). Same flash as the plain layout
  but for the padding of rows to a multiple of 4 channels and of K to a multiple of 4.
The general kernels' lowerings (int16.Conv2DS16, int16_nn.FullyConnectedS16,
int16_nn.DepthwiseConv2DS16, int16.AddSubS16) take these when they apply;
layers where a bound fails (or grouped convolutions, depth multiplier > 1) keep the general kernels. The
references are TFLM's semantics (int16.py), not these constants.
"""
from __future__ import annotations

import numpy as np

from tinygen.ir import Graph, Op, OpKind
from tinygen.quant import qmath
from tinygen.lower.base import ConstArg, ConstArray, Literal, LoweredOp, ScratchArg, TensorArg
from tinygen.lower.conv import windows
from tinygen.lower.int16 import Requant16, conv2d_16x8_reference, finish_16x8, requant_16x8, weighted_tensors

ACC_LIMIT = 1 << 31  # |window sum| must stay below this (int32)


def fast_tail(rq: Requant16, bias, rows: np.ndarray):
    """(red int32, bias int64) of tg_s16_out_fast for the filter rows (channels, K), one multiplier per channel
    or one for all, or None when a bound of int16_fast's proof fails."""
    if rows.size and 32768 * int(np.abs(rows.astype(np.int64)).sum(axis=1).max()) >= ACC_LIMIT:
        return None
    red, out = [], []
    channels = rows.shape[0]  # a per-tensor multiplier (FULLY_CONNECTED) repeats for every channel
    mults, shifts = (np.broadcast_to(np.asarray(v), (channels,)).tolist() for v in (rq.mult, rq.shift))
    for c, (m, s) in enumerate(zip(mults, shifts)):
        reduced = (m + (1 << 15)) >> 16 if m < 0x7FFF0000 else 0x7FFF
        ts = 15 - s
        if not 1 <= ts <= 32 or reduced << (32 - ts) >= (1 << 31) or m < 0:
            return None
        b = 0 if bias is None else int(bias[c])
        value = (b * reduced + (1 << (ts - 1))) << (32 - ts)
        if abs(value) >= 1 << 62:
            return None
        red.append(reduced << (32 - ts))
        out.append(value)
    return np.asarray(red, np.int32), np.asarray(out, np.int64)


def pack_s16_rows(rows: np.ndarray) -> np.ndarray:
    """(channels, K) int8 -> int32 words of tg_conv2d_s16_fast.h: rows padded to a multiple of 4 (zeros), K to
    groups of 4; block b, group g, row j holds bytes (w[4g], w[4g+2], w[4g+1], w[4g+3]) of row 4b + j."""
    o, k = rows.shape
    ob, groups = -(-o // 4), -(-k // 4)
    padded = np.zeros((ob * 4, groups * 4), np.int8)
    padded[:o, :k] = rows
    blocks = padded.reshape(ob, 4, groups, 4)[:, :, :, [0, 2, 1, 3]].transpose(0, 2, 1, 3)
    return np.ascontiguousarray(blocks).view("<i4").reshape(-1).astype(np.int32)


def _bias_values(b):
    return None if b is None else np.asarray(b.data, np.int64).reshape(-1)


def _packed_conv(op: Op, x_name: str, y_name: str, geom: tuple, rq: Requant16, rows: np.ndarray, tail: tuple,
                 reference, notes: dict) -> LoweredOp:
    """A tg_conv2d_s16_fast call: geom = (stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left,
    batches, in_h, in_w, in_c, filter_h, filter_w, out_h, out_w, out_c); rows the (out_c, K) filter."""
    sh, sw, dh, dw, pt, pl, n, in_h, in_w, in_c, fh, fw, out_h, out_w, out_c = geom
    k_pad = -(-fh * fw * in_c // 4) * 4
    direct = fh == fw == 1 and in_c % 4 == 0 and pt == 0 and pl == 0  # the window read in place
    consts = [ConstArray("red", tail[0]), ConstArray("bias", tail[1]), ConstArray("wpack", pack_s16_rows(rows))]
    args = [Literal("NULL") if direct else ScratchArg()]
    args += [Literal(v) for v in (sh, sw, dh, dw, pt, pl, rq.act_min, rq.act_max)]
    args += [ConstArg(0), ConstArg(1), Literal(n), Literal(in_h), Literal(in_w), Literal(in_c), TensorArg(x_name),
             Literal(fh), Literal(fw), ConstArg(2), Literal(out_h), Literal(out_w), Literal(out_c),
             TensorArg(y_name, const=False)]
    return LoweredOp(op, "tg_conv2d_s16_fast", ("tg_conv2d_s16_fast.c",), args, consts, reference,
                     macs=n * out_h * out_w * out_c * fh * fw * in_c, scratch_bytes=0 if direct else 2 * k_pad,
                     notes={"path": "16x8 fast", "window": "in place" if direct else "gathered",
                            "per_channel": rq.per_channel, **notes})


def conv2d_fast(op: Op, graph: Graph):
    """The tg_conv2d_s16_fast lowering of a 16x8 CONV_2D, or None when it is grouped or fails a bound."""
    x, w, b, y = weighted_tensors(op, graph)
    o, fh, fw, fi = w.shape
    if fi != x.shape[3] or o != y.shape[3]:
        return None
    rows = np.asarray(w.data, np.int8).reshape(o, -1)
    rq = requant_16x8(op, x, w, y, o, 0)
    tail = fast_tail(rq, _bias_values(b), rows)
    if tail is None:
        return None
    a = op.attrs
    filt, bias = np.asarray(w.data, np.int8), _bias_values(b)

    def reference(inputs):
        return [conv2d_16x8_reference(inputs[0], filt, bias, a, rq, y.shape)]

    geom = (a.stride_h, a.stride_w, a.dilation_h, a.dilation_w, a.padding.top, a.padding.left,
            *x.shape, fh, fw, *y.shape[1:])
    return _packed_conv(op, x.name, y.name, geom, rq, rows, tail, reference, {})


def fc_fast(op: Op, x_name: str, y_name: str, rows: np.ndarray, bias, rq: Requant16, batches: int, reference):
    """A 16x8 FULLY_CONNECTED with symmetric weights as tg_conv2d_s16_fast (a 1x1 convolution over `batches`
    pixels of rows.shape[1] channels), or None when a bound fails."""
    tail = fast_tail(rq, bias, rows)
    if tail is None:
        return None
    out_depth, accum = rows.shape
    geom = (1, 1, 1, 1, 0, 0, 1, 1, batches, accum, 1, 1, 1, batches, out_depth)
    return _packed_conv(op, x_name, y_name, geom, rq, rows, tail, reference, {"op": "FULLY_CONNECTED as 1x1"})


def depthwise_fast(op: Op, graph: Graph):
    """The tg_depthwise_conv2d_s16_fast lowering of a 16x8 DEPTHWISE_CONV_2D, or None (depth multiplier
    other than 1, a bound fails)."""
    x, w, b, y = weighted_tensors(op, graph)
    one, fh, fw, wc = w.shape
    if op.attrs.depth_multiplier != 1 or one != 1 or wc != x.shape[3] or wc != y.shape[3]:
        return None
    filt = np.asarray(w.data, np.int8)
    rq = requant_16x8(op, x, w, y, wc, 3)
    tail = fast_tail(rq, _bias_values(b), filt.reshape(-1, wc).T)
    if tail is None:
        return None
    red, bias_fast = tail
    a = op.attrs
    n, in_h, in_w, in_c = x.shape
    _, out_h, out_w, _ = y.shape
    consts = [ConstArray("red", red), ConstArray("bias", bias_fast),
              ConstArray("w", np.ascontiguousarray(filt.reshape(-1)))]
    args = [Literal(a.stride_h), Literal(a.stride_w), Literal(a.dilation_h), Literal(a.dilation_w),
            Literal(a.padding.top), Literal(a.padding.left), Literal(rq.act_min), Literal(rq.act_max),
            ConstArg(0), ConstArg(1), Literal(n), Literal(in_h), Literal(in_w), Literal(in_c), TensorArg(x.name),
            Literal(fh), Literal(fw), ConstArg(2), Literal(out_h), Literal(out_w), TensorArg(y.name, const=False)]
    bias = _bias_values(b)

    def reference(inputs):
        win = windows(np.asarray(inputs[0], dtype=np.int64), fh, fw, a, out_h, out_w)
        acc = np.einsum("nyxhwc,hwc->nyxc", win, filt[0].astype(np.int64))
        return [finish_16x8(acc, bias, rq)]

    return LoweredOp(op, "tg_depthwise_conv2d_s16_fast", ("tg_depthwise_conv2d_s16_fast.c",), args, consts,
                     reference, macs=n * out_h * out_w * in_c * fh * fw,
                     notes={"path": "16x8 fast", "per_channel": rq.per_channel})




def addsub_fast(op: Op, graph: Graph, params: tuple, reference):
    """The tg_add_s16_fast lowering of an int16 ADD / SUB with the general kernel's constants `params`
    (off1, m1, s1, off2, m2, s2, left shift, out zero point, mo, so, act_min, act_max) and reference, or None
    when tg_add_s16_fast.h's identities are not proven: broadcasting or a constant operand, a zero point,
    a rescale exponent above 29, or a sum a +- b outside [-2^30, 2^30)."""
    off1, m1, s1, off2, m2, s2, ls, out_zp, mo, so, lo, hi = params
    t1, t2 = (graph.tensors[t] for t in op.inputs)
    y = graph.tensors[op.outputs[0]]
    if t1.is_const or t2.is_const or tuple(t1.shape) != tuple(y.shape) or tuple(t2.shape) != tuple(y.shape):
        return None
    if off1 or off2 or out_zp or ls != 15 or max(-s1, -s2, -so) > 29 or min(-s1, -s2, -so) < 0:
        return None
    ends = np.asarray([-32768, 32767], np.int64) << ls
    a_lo, a_hi = qmath.multiply_by_quantized_multiplier(ends, m1, s1)
    b_lo, b_hi = qmath.multiply_by_quantized_multiplier(ends, m2, s2)
    sub = op.kind == OpKind.SUB
    raw_lo, raw_hi = (a_lo - b_hi, a_hi - b_lo) if sub else (a_lo + b_lo, a_hi + b_hi)
    if raw_lo < -(1 << 30) or raw_hi >= 1 << 30:
        return None
    args = [Literal(int(v)) for v in (sub, m1, -s1, m2, -s2, mo, -so, lo, hi, int(np.prod(y.shape)))]
    args += [TensorArg(op.inputs[0]), TensorArg(op.inputs[1]), TensorArg(op.outputs[0], const=False)]
    return LoweredOp(op, "tg_add_s16_fast", ("tg_add_s16_fast.c",), args, [], reference,
                     notes={"path": "same-shape int16 (SMMULR rescales, tg_add_s16_fast.h)"})


__all__ = ["fast_tail", "pack_s16_rows", "conv2d_fast", "fc_fast", "depthwise_fast", "addsub_fast"]
