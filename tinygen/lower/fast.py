"""Lowering rules for the fast int8 conv-family kernels (runtime_c/tg_*_fast.c, SIMD via tg_dsp.h).

Offline work done here so the C loops stay short: filter rows padded to multiples of 4 and
re-laid out in the order the SIMD loop reads them, the input offset folded into the bias
(bias[c] + input_offset * sum of filter row c), per-channel requantization constants expanded.
These rules are inserted at the front of the registry for their op kinds, so `choose()` prefers
them; each `supports()` falls through to the portable kernels of conv.py for the cases it does not
cover (grouped conv, depth multiplier > 1, channels not a multiple of 4, FC filter offsets, a
left-shifting multiplier whose accumulator could overflow the fast requantizer).
"""
from __future__ import annotations

import numpy as np

from tinygen.errors import UnsupportedError
from tinygen.ir import Graph, Op, OpKind
from tinygen.quant import qmath
from tinygen.lower import conv
from tinygen.lower.base import _REGISTRY, ConstArg, ConstArray, Kernel, Literal, LoweredOp, ScratchArg, TensorArg

# ---- offline re-layout ------------------------------------------------------------------------


def pad_rows(w: np.ndarray, rows_to: int = 1) -> np.ndarray:
    """(rows, K) int8 -> (rows rounded up to rows_to, K rounded up to 4), zero filled."""
    rows, k = w.shape
    out = np.zeros((-(-rows // rows_to) * rows_to, -(-k // 4) * 4), dtype=np.int8)
    out[:rows, :k] = w
    return out


RAW, WIDE, SPLIT = 0, 1, 2  # weight layouts of tg_gemm_s8_fast.h (its `wide` argument)
GEMM_SOURCES = ("tg_gemm_s8_fast.c", "tg_gemm_s8_fast_taps.c", "tg_gemm_s8_fast_ext.c")  # the GEMM core's entry points
DW_SOURCES = ("tg_depthwise_conv2d_s8_fast.c", "tg_depthwise_s8_fast_pixel.c")  # the kernel, its pixel core


def pack_gemm_rows(w: np.ndarray, wide: int) -> np.ndarray:
    """(rows, K) int8 -> int32 words in tg_gemm_s8_fast.h order: blocks of 4 rows, 4 values at a time,
    raw bytes (one word per row), pre-extended int16 pairs (w0 | w2 << 16, w1 | w3 << 16), or SPLIT
    bytes (w1 ^ 0x80, w0, w3 ^ 0x80, w2) (bias: split_bias_adjust)."""
    w = pad_rows(w, 4)
    rows, kp = w.shape
    v = w.reshape(rows // 4, 4, kp // 4, 4).transpose(0, 2, 1, 3)  # block, group, row, value
    if wide == SPLIT:
        v = v[..., [1, 0, 3, 2]].view(np.uint8) ^ np.array([0x80, 0, 0x80, 0], np.uint8)
    elif wide:
        v = v[..., [0, 2, 1, 3]].astype("<i2")
    return np.ascontiguousarray(v).ravel().view("<i4").astype(np.int32)


def split_bias_adjust(rec: np.ndarray, rq_words: int, w_rows: np.ndarray) -> np.ndarray:
    """requant_records' output with 128 * (sum of each row's even-indexed weights) added to the biases,
    as the SPLIT layout needs (wrapped to int32 like the C accumulators)."""
    rows = pad_rows(w_rows, 4)
    adj = 128 * rows[:, 0::2].astype(np.int64).sum(axis=1)
    out = rec.reshape(-1, 4 * rq_words).astype(np.int64)
    out[:, :4] += adj.reshape(-1, 4)
    return qmath.wrap_int32(out).astype(np.int32).reshape(rec.shape)


def pack_depthwise(w: np.ndarray) -> np.ndarray:
    """(taps, C) int8, C % 4 == 0 -> int32 words in tg_depthwise_conv2d_s8_fast.h order."""
    taps, c = w.shape
    if taps % 2:
        w = np.concatenate([w, np.zeros((1, c), np.int8)])
    pairs = w.shape[0] // 2
    # [group g][pair j][channel i][tap of pair t] = w[2j + t, 4g + i], as int16
    v = w.reshape(pairs, 2, c // 4, 4).transpose(2, 0, 3, 1).astype("<i2")
    return np.ascontiguousarray(v).ravel().view("<i4").astype(np.int32)


def folded_bias(bias, w_rows: np.ndarray, input_offset: int) -> np.ndarray:
    """bias + input_offset * row sums, wrapped to int32 exactly as the C accumulators wrap."""
    b = np.zeros(w_rows.shape[0], np.int64) if bias is None else bias.astype(np.int64).reshape(-1)
    return qmath.wrap_int32(b + input_offset * w_rows.astype(np.int64).sum(axis=1)).astype(np.int32)


def per_channel(a: np.ndarray, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(a, np.int32), (n,)).copy() if len(a) == 1 else np.asarray(a, np.int32)


RQ_RS, RQ_GEN = 5, 7  # int32 per channel record (tg_dsp.h)


def acc_bound(w_rows: np.ndarray, bias_eff: np.ndarray) -> np.ndarray:
    """Per row, a bound on |accumulator| (raw int8 inputs, folded bias)."""
    return np.abs(bias_eff.astype(np.int64)) + 128 * np.abs(w_rows.astype(np.int64)).sum(axis=1)


def fc_setup(op: Op, graph: Graph):
    """What every int8 FULLY_CONNECTED lowering starts from: (x, y, out_depth, accum_depth, batches,
    requantization, int8 weight rows, bias with the input offset folded in)."""
    x, w, b, y = conv._tensors(op, graph)
    out_depth, accum = w.shape
    if x.size % accum or y.size != (x.size // accum) * out_depth:
        raise conv._fail(op, f"input {x.shape} and output {y.shape} do not fit weights {w.shape}")
    rq = conv.fc_requant(op, x, w, y, out_depth)
    rows = np.asarray(w.data, np.int8)
    bias_eff = folded_bias(None if b is None else b.data, rows, rq.input_offset)
    return x, y, out_depth, accum, x.size // accum, rq, rows, bias_eff


def requant_records(bias_eff: np.ndarray, rq: conv.Requant, channels: int, bound=None):
    """(rq_words, (channels rounded up to 4, rq_words) int32) records of tg_dsp.h (grouped by 4 channels:
    4 biases, then 4 records of rq_words - 1), or None when a
    left-shifting channel could overflow `acc << (L + 1)` (bound: acc_bound per channel)."""
    mult = per_channel(rq.mult, channels).astype(np.int64)
    shift = per_channel(rq.shift, channels).astype(np.int64)
    rs = np.maximum(-shift, 1)
    rnd = (np.int64(1) << 30) + (np.int64(1) << (30 + rs))
    post = rs - 1
    if np.all(shift <= -1):
        cols = [bias_eff.astype(np.int64), mult, qmath.wrap_int32(rnd & 0xFFFFFFFF), rnd >> 32, post]
    else:
        left = shift >= 0
        pre = np.where(left, shift + 1, 0)
        # a zero multiplier (a dead channel) gives 0 whatever acc << (L + 1) wraps to
        if bound is not None and np.any(left & (mult != 0) & (bound.astype(np.int64) << pre.clip(0, 40) >= 2**31)):
            return None
        rnd = np.where(left, np.int64(1) << 31, rnd)
        cols = [bias_eff.astype(np.int64), mult, qmath.wrap_int32(rnd & 0xFFFFFFFF), rnd >> 32,
                np.where(left, 0, post), pre, np.where(left, 0, -1)]
    rec = np.stack(cols, axis=1).astype(np.int32)
    words = rec.shape[1]
    pad = -(-channels // 4) * 4 - channels
    rec = np.concatenate([rec, np.zeros((pad, words), np.int32)]).reshape(-1, 4, words)
    # per group of 4 channels: the 4 biases, then the 4 records without their bias
    grouped = np.concatenate([rec[:, :, 0], rec[:, :, 1:].reshape(len(rec), -1)], axis=1)
    return words, grouped.reshape(-1, words)


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


def _records(op: Op, rq: conv.Requant, rows: np.ndarray, bias_eff: np.ndarray):
    """requant_records for a weight matrix (rows = output channels), or raise when a left shift could
    overflow the fast requantizer."""
    got = requant_records(bias_eff, rq, rows.shape[0], acc_bound(rows, bias_eff))
    if got is None:
        raise UnsupportedError(f"layer '{op.name}': accumulator may overflow the fast left-shift requantizer")
    return got


def wide_weights(reuse: int) -> bool:
    """Pre-extend a layer's weights (twice their flash, ~1/3 fewer instructions per MAC) when each weight
    is used more than once per inference; single-use weights (FC with one batch) stay bytes, in the SPLIT
    layout (one sign extension per 4 weights instead of two; same flash as raw)."""
    return reuse > 1


class _Fast(Kernel):
    """supports() is 'lower() succeeds', after conv.py's checks (the portable kernel reports failures)."""

    def supports(self, op: Op, graph: Graph) -> bool:
        if not conv._supported(op, graph) or not self.shape_ok(op, graph) or _requant_of(op, graph) is None:
            return False
        try:
            self.lower(op, graph)
        except (UnsupportedError, ValueError):
            return False
        return True

    def shape_ok(self, op: Op, graph: Graph) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError


class FastConv2D(_Fast):
    """CONV_2D as one column per output pixel x blocks of 4 channels: with pre-extended weights the
    column is extended once per pixel into scratch (channels % 4 != 0: gathered raw into its upper half
    first, the window padded to 4 values with zeros against zero weights); otherwise read in place
    (1x1, or tap pointers) or gathered by im2col."""

    kinds = (OpKind.CONV_2D,)
    extend = True

    def shape_ok(self, op: Op, graph: Graph) -> bool:
        x, w = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1])
        return len(x.shape) == 4 and len(w.shape) == 4 and w.shape[3] == x.shape[3]

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
        rq_words, rec = _records(op, rq, rows, bias_eff)
        wide = wide_weights(n * out_h * out_w) and w.encoding is None  # "int8c": one byte per weight
        out_off = rq.output_offset
        if self.extend and wide:  # the output offset folded into the records (the GEMM then adds none)
            from tinygen.lower.fast_dw import folded_records  # fast_dw imports this module
            out_off, rec = folded_records(rec, rq_words, rows, bias_eff, rq)
        consts = [ConstArray("wpack", pack_gemm_rows(rows, wide)), ConstArray("quant", rec)]
        k_pad = -(-fh * fw * in_c // 4) * 4
        direct = in_c % 4 == 0 and fh * fw <= MAX_CONV_TAPS  # window read in place: no im2col scratch
        pointwise = fh == fw == 1 and a.stride_h == a.stride_w == 1 and a.padding.top == a.padding.left == 0 \
            and (out_h, out_w) == (in_h, in_w) and in_c % 4 == 0
        extend = self.extend and wide
        if extend:  # the column extended once per pixel into scratch (in_c % 4 != 0: gathered there first)
            direct = False
            scratch = 2 * k_pad
        else:
            scratch = 0 if direct else k_pad
        if in_c % 4 == 0 and not pointwise and (direct or extend):
            consts.append(ConstArray("zp", np.full(in_c, zp, np.int8)))
        args = [ScratchArg(),
                Literal(a.stride_h), Literal(a.stride_w), Literal(a.dilation_h), Literal(a.dilation_w),
                Literal(a.padding.top), Literal(a.padding.left),
                Literal(zp), ConstArg(2) if len(consts) > 2 else Literal("NULL"), Literal(out_off),
                Literal(rq.act_min), Literal(rq.act_max),
                Literal(n), Literal(in_h), Literal(in_w), Literal(in_c), TensorArg(x.name),
                Literal(fh), Literal(fw), ConstArg(0), Literal(CONV_EXTEND if extend else int(wide)), ConstArg(1),
                Literal(rq_words), Literal(out_h), Literal(out_w), Literal(out_c), TensorArg(y.name, const=False)]

        def reference(inputs):
            win = raw_windows(inputs[0], fh, fw, a, out_h, out_w, zp).reshape(n, out_h, out_w, -1)
            return [gemm_reference(win, rows, bias_eff, rq)]

        if direct:
            args[0] = Literal("NULL")
        return LoweredOp(op, "tg_conv2d_s8_fast", ("tg_conv2d_s8_fast.c", *GEMM_SOURCES), args, consts,
                         reference, macs=n * out_h * out_w * out_c * fh * fw * fi,
                         scratch_bytes=scratch,
                         pointwise=pointwise, notes={"path": "1x1 gemm" if pointwise else "generic",
                                "window": "extended" if extend else "in place" if direct else "im2col", "kernel": "fast",
                                "per_channel": rq.per_channel})


class FastConv2DInPlace(FastConv2D):
    """FastConv2D without the extended column: the window read in place (no scratch) where the
    extended column's scratch would raise the arena (memory.schedule.trim_scratch picks it)."""

    extend = False


CONV_EXTEND = 3  # TG_CONV_FAST_EXTEND: wide weights, the column extended once per pixel


class FastDepthwiseConv2D(_Fast):
    """DEPTHWISE_CONV_2D, multiplier 1, channels % 4 == 0: 4 channels x tap pairs per SMLAD step."""

    kinds = (OpKind.DEPTHWISE_CONV_2D,)

    def shape_ok(self, op: Op, graph: Graph) -> bool:
        x, w = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1])
        return op.attrs.depth_multiplier == 1 and w.encoding is None and len(x.shape) == 4 and len(w.shape) == 4 \
            and x.shape[3] % 4 == 0 and w.shape[3] == x.shape[3] and w.shape[1] * w.shape[2] <= MAX_DW_TAPS

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
        rq_words, rec = _records(op, rq, taps.T, bias_eff)
        from tinygen.lower.fast_dw import fold_output_offset  # fast_dw imports this module
        folded = fold_output_offset(rec, rq_words, acc_bound(taps.T, bias_eff), rq.output_offset)
        out_off, rec = (rq.output_offset, rec) if folded is None else (0, folded)
        consts = [ConstArray("quant", rec), ConstArray("wpack", pack_depthwise(taps)),
                  ConstArray("zp", np.full(in_c, zp, np.int8))]
        args = [Literal(a.stride_h), Literal(a.stride_w), Literal(a.dilation_h), Literal(a.dilation_w),
                Literal(a.padding.top), Literal(a.padding.left),
                ConstArg(2), Literal(out_off), Literal(rq.act_min), Literal(rq.act_max),
                ConstArg(0), Literal(rq_words),
                Literal(n), Literal(in_h), Literal(in_w), Literal(in_c), TensorArg(x.name),
                Literal(fh), Literal(fw), ConstArg(1),
                Literal(out_h), Literal(out_w), TensorArg(y.name, const=False)]

        def reference(inputs):
            win = raw_windows(inputs[0], fh, fw, a, out_h, out_w, zp)  # (n, oh, ow, fh, fw, c)
            acc = np.einsum("nyxhwc,hwc->nyxc", win, taps.reshape(fh, fw, in_c).astype(np.int64)) + bias_eff
            return [conv.finish(acc, None, rq)]

        return LoweredOp(op, "tg_depthwise_conv2d_s8_fast", DW_SOURCES, args, consts,
                         reference, macs=n * out_h * out_w * in_c * fh * fw, scratch_bytes=0,
                         notes={"kernel": "fast", "per_channel": rq.per_channel})


MAX_DW_TAPS = 25  # TG_DW_FAST_MAX_TAPS
MAX_CONV_TAPS = 25  # TG_CONV_FAST_MAX_TAPS


class FastFullyConnected(_Fast):
    """FULLY_CONNECTED with filter offset 0 and accum_depth % 4 == 0, input rows read in place (no scratch;
    FastFullyConnectedX extends them first)."""

    kinds = (OpKind.FULLY_CONNECTED,)
    extend = False

    def shape_ok(self, op: Op, graph: Graph) -> bool:
        w = graph.tensor(op.inputs[1])
        return len(w.shape) == 2 and w.shape[1] % 4 == 0 and w.quant is not None \
            and all(z == 0 for z in w.quant.zero_point)

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, y, out_depth, accum, batches, rq, rows, bias_eff = fc_setup(op, graph)
        rq_words, rec = _records(op, rq, rows, bias_eff)
        # weights used once (one batch): the SPLIT layout, raw bytes with one sign extension per word
        wide = WIDE if wide_weights(batches) and graph.tensor(op.inputs[1]).encoding is None else SPLIT
        if wide == SPLIT:
            rec = split_bias_adjust(rec, rq_words, rows)
        consts = [ConstArray("wpack", pack_gemm_rows(rows, wide)), ConstArray("quant", rec)]
        args = [ScratchArg()] if self.extend else []
        args += [Literal(rq.output_offset), Literal(rq.act_min), Literal(rq.act_max),
                Literal(batches), Literal(accum), TensorArg(x.name),
                Literal(out_depth), ConstArg(0), Literal(int(wide)), ConstArg(1), Literal(rq_words),
                TensorArg(y.name, const=False)]

        def reference(inputs):
            return [gemm_reference(inputs[0].reshape(-1, accum), rows, bias_eff, rq).reshape(y.shape)]

        fn = "tg_fully_connected_s8_fast_x" if self.extend else "tg_fully_connected_s8_fast"
        return LoweredOp(op, fn, ("tg_fully_connected_s8_fast.c", *GEMM_SOURCES),
                         args, consts, reference, macs=batches * out_depth * accum,
                         scratch_bytes=2 * accum if self.extend else 0,
                         notes={"kernel": "fast", "per_channel": rq.per_channel})


class FastFullyConnectedX(FastFullyConnected):
    """FastFullyConnected with each input row extended once into scratch (tg_fully_connected_s8_fast_x);
    preferred, FastFullyConnected being the fallback where that scratch would raise the arena
    (memory.schedule.trim_scratch picks it)."""

    extend = True


def add_tables(op: Op, graph: Graph):
    """(table1, table2, out_rq, act) of tg_add_s8_fast.h for an int8 ADD / SUB: each input's rescale tabulated
    for the 256 int8 values exactly as elementwise.py computes it (SUB negates table2), the output rescale
    as one record; raises when the output shift is not a right shift of 1..31 bits."""
    from tinygen.lower import elementwise as ew

    t1, t2 = (graph.tensors[t] for t in op.inputs)
    out = graph.tensors[op.outputs[0]]
    reals = ew.addsub_multipliers(op.kind, t1.scale, t2.scale, out.scale)
    (m1, s1), (m2, s2), (mo, so) = (ew.smaller_than_one(r, w, op)
                                    for r, w in zip(reals, ("input 1", "input 2", "output")))
    q = np.arange(-128, 128, dtype=np.int64)
    table1 = qmath.multiply_by_quantized_multiplier((q - t1.zero_point) << ew.LEFT_SHIFT, m1, s1)
    table2 = qmath.multiply_by_quantized_multiplier((q - t2.zero_point) << ew.LEFT_SHIFT, m2, s2)
    if op.kind == OpKind.SUB:
        table2 = -table2
    rs = -int(so)
    if not 1 <= rs <= 31:
        raise UnsupportedError(f"layer '{op.name}': output shift {so} is not a right shift of 1..31 bits")
    rnd = (1 << 30) + (1 << (30 + rs))
    post = rs - 1
    hi = (rnd >> 32) + (out.zero_point << post)
    raw_max = int(np.abs(table1).max() + np.abs(table2).max())
    if hi + 1 + ((raw_max * mo) >> 32) >= 2**31 or hi - 1 - ((raw_max * mo) >> 32) < -2**31:
        raise UnsupportedError(f"layer '{op.name}': output offset does not fold into the rounding term")
    out_rq = np.array([mo, qmath.wrap_int32(rnd & 0xFFFFFFFF), hi, post], np.int64)
    return (table1.astype(np.int32), table2.astype(np.int32), out_rq.astype(np.int32), ew.fused_range(op, graph))


class FastAddSub(Kernel):
    """int8 ADD / SUB of two tensors of the output's shape: tabulated input rescales, 4 elements per step."""

    kinds = (OpKind.ADD, OpKind.SUB)

    def supports(self, op: Op, graph: Graph) -> bool:
        from tinygen.lower.pool import all_int8

        if len(op.inputs) != 2 or not all_int8(op, graph):
            return False
        shape = tuple(graph.tensors[op.outputs[0]].shape)
        if any(tuple(graph.tensors[t].shape) != shape for t in op.inputs):
            return False
        try:
            add_tables(op, graph)
        except UnsupportedError:
            return False
        return True

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        table1, table2, out_rq, act = add_tables(op, graph)
        tensors = [graph.tensors[t] for t in op.inputs]
        consts = [ConstArray("t1", table1), ConstArray("t2", table2), ConstArray("rq", out_rq)]
        ptrs = []
        for i, t in enumerate(tensors):
            if t.is_const:
                ptrs.append(ConstArg(len(consts)))
                consts.append(ConstArray(f"in{i + 1}", np.asarray(t.data, np.int8).reshape(-1)))
            else:
                ptrs.append(TensorArg(t.name))
        y = graph.tensors[op.outputs[0]]
        args = [ConstArg(0), ConstArg(1), ConstArg(2), Literal(act[0]), Literal(act[1]), Literal(int(y.size))] \
            + ptrs + [TensorArg(y.name, const=False)]
        mult, rlo, rhi, post = (int(v) for v in out_rq)

        def reference(inputs):
            it = iter(inputs)
            x1, x2 = (np.asarray(t.data if t.is_const else next(it)).astype(np.int64).reshape(-1) for t in tensors)
            raw = qmath.wrap_int32(table1[x1 + 128].astype(np.int64) + table2[x2 + 128])
            rnd = ((rhi << 32) | (rlo & 0xFFFFFFFF)) - (raw < 0).astype(np.int64) * (1 << 31)
            v = ((raw * mult + rnd) >> 32) >> post
            return [np.clip(v, act[0], act[1]).astype(np.int8).reshape(y.shape)]

        return LoweredOp(op, "tg_add_s8_fast", ("tg_add_s8_fast.c",), args, consts, reference, macs=0,
                         notes={"kernel": "fast"})


def register_first(kernel: Kernel) -> Kernel:
    """Put `kernel` ahead of the portable kernels of its kinds (conv.py registered those on import)."""
    for kind in kernel.kinds:
        lst = _REGISTRY.setdefault(kind, [])
        if not any(type(k) is type(kernel) for k in lst):
            lst.insert(0, kernel)
    return kernel


register_first(FastConv2DInPlace())
register_first(FastConv2D())  # ahead of the in-place variant
register_first(FastDepthwiseConv2D())
register_first(FastFullyConnected())
register_first(FastFullyConnectedX())  # ahead of the in-place variant
register_first(FastAddSub())
