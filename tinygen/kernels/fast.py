"""Lowering rules for the fast int8 conv-family kernels (runtime_c/tg_*_fast.c, SIMD via tg_dsp.h).

Offline work done here so the C loops stay short: filter rows padded to multiples of 4 and
re-laid out in the order the SIMD loop reads them, the input offset folded into the bias
(bias[c] + input_offset * sum of filter row c), per-channel requantization constants expanded.
These rules are inserted at the front of the registry for their op kinds, so `choose()` prefers
them; each `supports()` falls through to the portable kernels of conv.py for the cases it does not
cover (grouped conv, depth multiplier > 1, channels not a multiple of 4, left-shifting multipliers,
FC filter offsets).
"""
from __future__ import annotations

import numpy as np

from ..errors import UnsupportedError
from ..ir import Graph, Op, OpKind
from ..quant import qmath
from . import conv
from .base import _REGISTRY, ConstArg, ConstArray, Kernel, Literal, LoweredOp, ScratchArg, TensorArg

# ---- offline re-layout ------------------------------------------------------------------------


def pad_rows(w: np.ndarray) -> np.ndarray:
    """(rows, K) int8 -> (rows, K rounded up to 4), zero filled."""
    rows, k = w.shape
    out = np.zeros((rows, -(-k // 4) * 4), dtype=np.int8)
    out[:, :k] = w
    return out


def pack_gemm_rows(w: np.ndarray) -> np.ndarray:
    """(rows, K) int8 -> int32 words in tg_gemm_s8_fast.h order: row pairs interleaved 4 bytes at a time."""
    w = pad_rows(w)
    rows, kp = w.shape
    parts = []
    pairs = rows // 2
    if pairs:
        parts.append(w[:2 * pairs].reshape(pairs, 2, kp // 4, 4).transpose(0, 2, 1, 3).ravel())
    if rows % 2:
        parts.append(w[-1].ravel())
    return np.concatenate(parts).view("<i4").astype(np.int32)


def pack_depthwise(w: np.ndarray) -> np.ndarray:
    """(taps, C) int8, C % 4 == 0 -> int32 words in tg_depthwise_conv2d_s8_fast.h order."""
    taps, c = w.shape
    if taps % 2:
        w = np.concatenate([w, np.zeros((1, c), np.int8)])
    pairs = w.shape[0] // 2
    # [group g][pair j][half h][tap of pair t][channel in half i] = w[2j + t, 4g + 2h + i]
    v = w.reshape(pairs, 2, c // 4, 2, 2).transpose(2, 0, 3, 1, 4)
    return np.ascontiguousarray(v).ravel().view("<i4").astype(np.int32)


def folded_bias(bias, w_rows: np.ndarray, input_offset: int) -> np.ndarray:
    """bias + input_offset * row sums, wrapped to int32 exactly as the C accumulators wrap."""
    b = np.zeros(w_rows.shape[0], np.int64) if bias is None else bias.astype(np.int64)
    return qmath.wrap_int32(b + input_offset * w_rows.astype(np.int64).sum(axis=1)).astype(np.int32)


def per_channel(a: np.ndarray, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(a, np.int32), (n,)).copy() if len(a) == 1 else np.asarray(a, np.int32)


def requant_records(bias_eff: np.ndarray, rq: conv.Requant, channels: int) -> np.ndarray:
    """(channels, 5) int32: bias, mult, 2^30 + 2^(30 + rshift) as low and high words, rshift - 1."""
    mult = per_channel(rq.mult, channels).astype(np.int64)
    rshift = -per_channel(rq.shift, channels).astype(np.int64)
    rnd = (np.int64(1) << 30) + (np.int64(1) << (30 + rshift))
    return np.stack([bias_eff.astype(np.int64), mult, qmath.wrap_int32(rnd & 0xFFFFFFFF), rnd >> 32, rshift - 1],
                    axis=1).astype(np.int32)


def right_shifts(rq: conv.Requant) -> bool:
    """Every multiplier is a right shift (shift <= -1): what tg_requantize_rs covers."""
    return bool(np.all(rq.shift <= -1))


def _requant_of(op: Op, graph: Graph):
    """The op's Requant, or None when lowering would fail (the portable kernel then reports why)."""
    try:
        x, w, b, y = conv._tensors(op, graph)
        if op.kind == OpKind.FULLY_CONNECTED:
            return conv.fc_requant(op, x, w, y, w.shape[0])
        axis = 3 if op.kind == OpKind.DEPTHWISE_CONV_2D else 0
        return conv.conv_requant(op, x, w, y, w.shape[axis], axis)
    except (UnsupportedError, IndexError):
        return None


def gemm_reference(cols: np.ndarray, w_rows: np.ndarray, bias_eff: np.ndarray, rq: conv.Requant) -> np.ndarray:
    """(..., K) raw int8 columns (padding taps = input zero point) x (O, K) -> int8, from folded constants."""
    acc = cols.astype(np.int64) @ w_rows.astype(np.int64).T + bias_eff
    return conv.finish(acc, None, rq)


def raw_windows(x: np.ndarray, fh: int, fw: int, attrs, out_h: int, out_w: int, zp: int) -> np.ndarray:
    """Windows of the raw input, padding taps holding the input zero point."""
    return conv.windows(x.astype(np.int64) - zp, fh, fw, attrs, out_h, out_w) + zp


# ---- kernels ------------------------------------------------------------------------------------


class FastConv2D(Kernel):
    """CONV_2D as im2col (two pixels) + 2x2 blocked SIMD GEMM; ungrouped, right-shift multipliers."""

    kinds = (OpKind.CONV_2D,)

    def supports(self, op: Op, graph: Graph) -> bool:
        if not conv._supported(op, graph):
            return False
        x, w = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1])
        if len(x.shape) != 4 or len(w.shape) != 4 or w.shape[3] != x.shape[3]:
            return False
        rq = _requant_of(op, graph)
        return rq is not None and right_shifts(rq)

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, w, b, y = conv._tensors(op, graph)
        a = op.attrs
        n, in_h, in_w, in_c = x.shape
        _, out_h, out_w, out_c = y.shape
        o, fh, fw, fi = w.shape
        rq = conv.conv_requant(op, x, w, y, out_c, 0)
        rows = np.asarray(w.data, np.int8).reshape(o, fh * fw * fi)
        zp = -rq.input_offset
        bias_eff = folded_bias(None if b is None else b.data, rows, rq.input_offset)
        consts = [ConstArray("wpack", pack_gemm_rows(rows)), ConstArray("quant", requant_records(bias_eff, rq, out_c))]
        k_pad = -(-fh * fw * in_c // 4) * 4
        args = [ScratchArg(),
                Literal(a.stride_h), Literal(a.stride_w), Literal(a.dilation_h), Literal(a.dilation_w),
                Literal(a.padding.top), Literal(a.padding.left),
                Literal(zp), Literal(rq.output_offset), Literal(rq.act_min), Literal(rq.act_max),
                Literal(n), Literal(in_h), Literal(in_w), Literal(in_c), TensorArg(x.name),
                Literal(fh), Literal(fw), ConstArg(0), ConstArg(1),
                Literal(out_h), Literal(out_w), Literal(out_c), TensorArg(y.name, const=False)]

        def reference(inputs):
            win = raw_windows(inputs[0], fh, fw, a, out_h, out_w, zp).reshape(n, out_h, out_w, -1)
            return [gemm_reference(win, rows, bias_eff, rq)]

        pointwise = fh == fw == 1 and a.stride_h == a.stride_w == 1 and a.padding.top == a.padding.left == 0 \
            and (out_h, out_w) == (in_h, in_w)
        return LoweredOp(op, "tg_conv2d_s8_fast", ("tg_conv2d_s8_fast.c", "tg_gemm_s8_fast.c"), args, consts,
                         reference, macs=n * out_h * out_w * out_c * fh * fw * fi, scratch_bytes=5 * k_pad,
                         extra={"path": "1x1 gemm" if pointwise else "generic", "kernel": "fast",
                                "per_channel": rq.per_channel})


class FastDepthwiseConv2D(Kernel):
    """DEPTHWISE_CONV_2D, multiplier 1, channels % 4 == 0: 4 channels x tap pairs per SMLAD step."""

    kinds = (OpKind.DEPTHWISE_CONV_2D,)

    def supports(self, op: Op, graph: Graph) -> bool:
        if not conv._supported(op, graph) or op.attrs.depth_multiplier != 1:
            return False
        x, w = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1])
        if len(x.shape) != 4 or len(w.shape) != 4 or x.shape[3] % 4 or w.shape[3] != x.shape[3]:
            return False
        rq = _requant_of(op, graph)
        return rq is not None and right_shifts(rq)

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, w, b, y = conv._tensors(op, graph)
        a = op.attrs
        n, in_h, in_w, in_c = x.shape
        _, out_h, out_w, _ = y.shape
        _, fh, fw, _ = w.shape
        rq = conv.conv_requant(op, x, w, y, in_c, 3)
        taps = np.asarray(w.data, np.int8).reshape(fh * fw, in_c)
        zp = -rq.input_offset
        bias_eff = folded_bias(None if b is None else b.data, taps.T, rq.input_offset)
        consts = [ConstArray("quant", requant_records(bias_eff, rq, in_c)), ConstArray("wpack", pack_depthwise(taps))]
        args = [ScratchArg(),
                Literal(a.stride_h), Literal(a.stride_w), Literal(a.dilation_h), Literal(a.dilation_w),
                Literal(a.padding.top), Literal(a.padding.left),
                Literal(zp), Literal(rq.output_offset), Literal(rq.act_min), Literal(rq.act_max),
                ConstArg(0),
                Literal(n), Literal(in_h), Literal(in_w), Literal(in_c), TensorArg(x.name),
                Literal(fh), Literal(fw), ConstArg(1),
                Literal(out_h), Literal(out_w), TensorArg(y.name, const=False)]

        def reference(inputs):
            win = raw_windows(inputs[0], fh, fw, a, out_h, out_w, zp)  # (n, oh, ow, fh, fw, c)
            acc = np.einsum("nyxhwc,hwc->nyxc", win, taps.reshape(fh, fw, in_c).astype(np.int64)) + bias_eff
            return [conv.finish(acc, None, rq)]

        pairs = (fh * fw + 1) // 2
        return LoweredOp(op, "tg_depthwise_conv2d_s8_fast", ("tg_depthwise_conv2d_s8_fast.c",), args, consts,
                         reference, macs=n * out_h * out_w * in_c * fh * fw,
                         scratch_bytes=2 * pairs * 8 + in_c,  # tap pointers (8 B on 64-bit hosts) + zp pixel
                         extra={"kernel": "fast", "per_channel": rq.per_channel})


class FastFullyConnected(Kernel):
    """FULLY_CONNECTED with filter offset 0 and accum_depth % 4 == 0: pairs of batches x pairs of rows."""

    kinds = (OpKind.FULLY_CONNECTED,)

    def supports(self, op: Op, graph: Graph) -> bool:
        if not conv._supported(op, graph):
            return False
        w = graph.tensor(op.inputs[1])
        if len(w.shape) != 2 or w.shape[1] % 4 or w.quant is None or any(z != 0 for z in w.quant.zero_point):
            return False
        rq = _requant_of(op, graph)
        return rq is not None and right_shifts(rq)

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, w, b, y = conv._tensors(op, graph)
        out_depth, accum = w.shape
        if x.size % accum or y.size != (x.size // accum) * out_depth:
            raise conv._fail(op, f"input {x.shape} and output {y.shape} do not fit weights {w.shape}")
        batches = x.size // accum
        rq = conv.fc_requant(op, x, w, y, out_depth)
        rows = np.asarray(w.data, np.int8)
        bias_eff = folded_bias(None if b is None else b.data, rows, rq.input_offset)
        consts = [ConstArray("wpack", pack_gemm_rows(rows)),
                  ConstArray("quant", requant_records(bias_eff, rq, out_depth))]
        args = [ScratchArg(), Literal(rq.output_offset), Literal(rq.act_min), Literal(rq.act_max),
                Literal(batches), Literal(accum), TensorArg(x.name),
                Literal(out_depth), ConstArg(0), ConstArg(1), TensorArg(y.name, const=False)]

        def reference(inputs):
            return [gemm_reference(inputs[0].reshape(-1, accum), rows, bias_eff, rq).reshape(y.shape)]

        return LoweredOp(op, "tg_fully_connected_s8_fast", ("tg_fully_connected_s8_fast.c", "tg_gemm_s8_fast.c"),
                         args, consts, reference, macs=batches * out_depth * accum, scratch_bytes=4 * accum,
                         extra={"kernel": "fast", "per_channel": rq.per_channel})


def register_first(kernel: Kernel) -> Kernel:
    """Put `kernel` ahead of the portable kernels of its kinds (conv.py registered those on import)."""
    for kind in kernel.kinds:
        lst = _REGISTRY.setdefault(kind, [])
        if not any(type(k) is type(kernel) for k in lst):
            lst.insert(0, kernel)
    return kernel


register_first(FastConv2D())
register_first(FastDepthwiseConv2D())
register_first(FastFullyConnected())
