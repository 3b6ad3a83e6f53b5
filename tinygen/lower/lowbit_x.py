"""Decode-once lowering of low-bit weights (runtime_c/lowbit/tg_lowbit_x.h): the kernel decodes the packed
rows once per call into scratch, in the layout the int8 fast kernels read from flash, builds their
requantization records there too, and runs the int8 kernel. So the per-pixel work is int8's, the flash
keeps the packed rows and 3 bytes per channel, and the arena grows by the decoded filter and records.

`plan` decides offline whether the records are exact (fast.requant_records' overflow check on the
decoded weights, and the depthwise output-offset fold) and returns the argument list, scratch bytes and
runtime sources; None sends the layer to tg_lowbit.h's kernels. The bias passed to the kernel is folded
with the input offset (fast.folded_bias: same int32 bytes as the bias), and conv rows of the 4-bit formats
are stored in tg_lowbit_x.h's pair order (`to_pairs`: a permutation of the nibbles, same row bytes). The
reference is lowbit.py's (unpack the value-order bytes, then the int8 reference); the C reads the
permuted bytes, so the tests check the permutation as well.

Two choices here make the int8 kernels take their short paths: the output offset goes into the records
when that stays exact (`fold`), and ternary and binary layers whose multipliers would shift left decode
their weights as +-2^k with the bias times 2^k and the shifts minus k (`weight_shift`: same real
multipliers, all shifting right, so TG_RQ_RS records and no pre-shift); the reference then runs on those
values. FULLY_CONNECTED with fields below 4 bits runs as a 1x1 conv (pair-order rows through the table).
"""
from __future__ import annotations

import contextlib
import dataclasses

import numpy as np

from tinygen.ir import Op, OpKind
from tinygen.lower import fast
from tinygen.lower.base import ConstArg, ConstArray, Literal, ScratchArg

MAX_DW_TAPS = 25  # TG_DW_FAST_MAX_TAPS
ENABLED = True  # False: every layer on tg_lowbit.h's kernels (the tests run both)


@contextlib.contextmanager
def packed():
    """While inside, low-bit layers keep tg_lowbit.h's packed kernels (no decoded filter in the arena)."""
    global ENABLED
    old, ENABLED = ENABLED, False
    try:
        yield
    finally:
        ENABLED = old


def _records(rows: np.ndarray, bias, rq):
    """(rq_words, records, acc bound) as the int8 fast lowering makes them, or None when inexact."""
    bias_eff = fast.folded_bias(bias, rows, rq.input_offset)
    bound = fast.acc_bound(rows, bias_eff)
    got = fast.requant_records(bias_eff, rq, rows.shape[0], bound)
    return None if got is None else (*got, bound)


TAB_MIN_BYTES = 512  # TG_LBX_TAB_MIN_BYTES


def to_pairs(packed: np.ndarray, n: int, bits: int = 4) -> np.ndarray:
    """Rows of `bits`-bit fields in value order (value j at bits j*bits.., tg_lowbit.h) -> tg_lowbit_x.h's pair
    order: each full group of 4 values v0..v3 as two fields of 2*bits bits, (v0 | v2 << bits) and
    (v1 | v3 << bits); the last n % 4 values stay in value order. Same row bytes."""
    packed = np.asarray(packed, np.uint8)
    c, full = packed.shape[0], n // 4
    weights = 1 << np.arange(bits)
    idx = (np.unpackbits(packed, axis=1, bitorder="little", count=n * bits).reshape(c, n, bits) * weights).sum(axis=2)
    g = idx[:, :4 * full].reshape(c, full, 4)
    pairs = np.stack([g[:, :, 0] | (g[:, :, 2] << bits), g[:, :, 1] | (g[:, :, 3] << bits)], axis=2)
    fields = np.concatenate([pairs.reshape(c, 2 * full).astype(np.uint16), idx[:, 4 * full:].astype(np.uint16)], axis=1)
    width = np.array([2 * bits] * (2 * full) + [bits] * (n - 4 * full))
    stream = np.concatenate([(fields[:, k:k + 1] >> np.arange(width[k])) & 1 for k in range(fields.shape[1])]
                            or [np.zeros((c, 0), np.uint16)], axis=1).astype(np.uint8)
    out = np.packbits(stream, axis=1, bitorder="little")
    return np.pad(out, ((0, 0), (0, packed.shape[1] - out.shape[1])))


def field_bits(fmt: int, bits: int) -> int:
    """The bits per value of tg_conv2d_lbx's rows: INT4 4, PALETTE its bits, TERNARY 2, BINARY 1."""
    return {0: 4, 1: bits, 2: 2, 3: 1}[fmt]


def tab_words(fmt: int, bits: int, n: int, channels: int) -> int:
    """tg_conv2d_lbx_tab_words: the words of the conv's pair table (0: none)."""
    b = field_bits(fmt, bits)
    if b == 4:
        return 256 if channels * (n // 4) * 2 >= TAB_MIN_BYTES else 0
    return 1 << (2 * b)


def index_rows(rows: np.ndarray, fmt: int) -> np.ndarray:
    """TERNARY (2-bit: non-zero | negative << 1) or BINARY (1-bit: 1 for +1) indices in value order, from the
    decoded rows (either sign of 2^k scaled): ceil(n * b / 8) bytes a row (tg_lowbit_x.h)."""
    c, n = rows.shape
    b = field_bits(fmt, 0)
    idx = ((rows != 0) | ((rows < 0) << 1)) if fmt == 2 else (rows > 0)
    stream = np.unpackbits(idx.astype(np.uint8)[:, :, None], axis=2, bitorder="little")[:, :, :b].reshape(c, n * b)
    return np.packbits(stream, axis=1, bitorder="little")


def conv_rows(rows: np.ndarray, packed: np.ndarray, fmt: int, bits: int) -> np.ndarray:
    """tg_conv2d_lbx's rows (pair order, tg_lowbit_x.h) from the decoded int8 rows and lowbit.py's packing."""
    n = rows.shape[1]
    if fmt in (0, 1):
        return to_pairs(packed, n, field_bits(fmt, bits))
    return to_pairs(index_rows(rows, fmt), n, field_bits(fmt, bits))


def scratch_bytes(kind: OpKind, n: int, channels: int, in_c: int, rq_words: int, tab: int = 0) -> int:
    """tg_lowbit_x.h's scratch for n values per row and `channels` outputs (tab: the conv's tab_words)."""
    k4, blocks = -(-n // 4), -(-channels // 4)
    if kind == OpKind.CONV_2D:
        head = max(8 * k4, 4 * tab)
        return head + blocks * 16 * rq_words + blocks * 32 * k4 + -(-in_c // 4) * 4
    if kind == OpKind.DEPTHWISE_CONV_2D:
        pairs = -(-n // 2)
        return in_c * (4 * rq_words + 4 * pairs) + in_c
    return blocks * 16 * rq_words + blocks * 16 * k4 + 8 * k4


def plan(op: Op, rows: np.ndarray, bias, rq, head: list, geo: list, in_c: int, wshift: int = 0, kind=None):
    """(function, sources, args before the shape arguments, scratch bytes, notes) or None; kind: the op's
    kind, or CONV_2D for a FULLY_CONNECTED run as a 1x1 conv (in_c: its accum depth).

    rows: the decoded weights (times 2^wshift), one row per output channel; head: lowbit.py's leading
    arguments (scratch, format, bits, codebook, weights, row bytes); geo: the six stride / dilation / padding
    ones; bias and rq: scaled with the rows (weight_shift)."""
    channels, n = rows.shape
    if not ENABLED:
        return None
    kind = kind or op.kind
    if kind == OpKind.DEPTHWISE_CONV_2D and (op.attrs.depth_multiplier != 1 or in_c % 4 or n > MAX_DW_TAPS):
        return None
    if kind == OpKind.FULLY_CONNECTED and n % 4:
        return None
    got = _records(rows, bias, rq)
    if got is None:
        return None
    rq_words, rec, bound = got
    fmt, bits = head[1].value, head[2].value
    tab = tab_words(fmt, bits, n, channels) if kind == OpKind.CONV_2D else 0
    from tinygen.lower.fast_dw import fold_output_offset  # fast_dw imports lowbit, which imports this

    fold = fold_output_offset(rec, rq_words, bound, rq.output_offset) is not None
    head = [ScratchArg(), *head[1:]]
    quant = [Literal(rq.act_min), Literal(rq.act_max), ConstArg(0), ConstArg(1), Literal(rq_words), Literal(wshift)]
    offsets = [Literal(rq.input_offset), Literal(rq.output_offset), Literal(int(fold))]
    scratch = scratch_bytes(kind, n, channels, in_c, rq_words, tab)
    notes = {"decoded": "once per call", "rq_words": rq_words, "output offset": "folded" if fold else "added"}
    if wshift:
        notes["weight values"] = f"+-2^{wshift}"
    if kind == OpKind.CONV_2D:
        notes["rows"] = "pair order" + (f", pair table of {tab} words" if tab else "")
        return ("tg_conv2d_lbx", ("tg_conv2d_lbx.c", "tg_conv2d_s8_fast.c", *fast.GEMM_SOURCES),
                [*head, *geo, *offsets, *quant], scratch, notes)
    if kind == OpKind.DEPTHWISE_CONV_2D:
        return ("tg_depthwise_conv2d_lbx", ("tg_depthwise_conv2d_lbx.c", *fast.DW_SOURCES),
                [*head, *geo, *offsets, *quant], scratch, notes)
    return ("tg_fully_connected_lbx", ("tg_fully_connected_lbx.c", "tg_fully_connected_s8_fast.c", *fast.GEMM_SOURCES),
            [*head, *offsets, *quant], scratch, notes)


# The kernels take k up to TG_LBX_MAX_WSHIFT (14; 6 for FULLY_CONNECTED, whose filter holds bytes); the
# lowering keeps it at 6 everywhere, so +-2^k fits the int8 filter of the exported .tflite that TFLM runs
# (verify/export_tflite.py writes the scaled values)
MAX_WSHIFT, FC_MAX_WSHIFT = 6, 6
SPARE_BITS = 8  # right shift kept by the channel with the largest multiplier once scaled


def weight_shift(kind: OpKind, fmt: int, rows: np.ndarray, bias, rq) -> int:
    """k for decoding TERNARY / BINARY values as 0 and +-2^k, with the bias times 2^k and every shift minus k
    (the same real multipliers): when a channel's multiplier shifts left, a large enough k makes every
    channel shift right, so the records take the short TG_RQ_RS form and the kernels skip the pre-shift.
    The largest k up to the left shift + SPARE_BITS and MAX_WSHIFT (+-2^k an int8 value) that keeps
    shifts >= -31 and keeps the accumulator bound below 2^31; 0 when no channel shifts left or none fits.
    Scaling changes only how the requantization rounds (finer, as int8 layers with small multipliers
    round); the NumPy reference uses the same scaled values."""
    if fmt not in (2, 3):
        return 0
    shift = np.broadcast_to(np.asarray(rq.shift, np.int64), (rows.shape[0],))
    live = np.broadcast_to(np.asarray(rq.mult, np.int64), (rows.shape[0],)) != 0
    top = int(shift[live].max()) if live.any() else -1
    if top < 0:
        return 0
    b = np.zeros(rows.shape[0], np.int64) if bias is None else np.abs(np.asarray(bias, np.int64)).reshape(-1)
    bound = b + (abs(rq.input_offset) + 128) * np.abs(rows.astype(np.int64)).sum(axis=1)
    limit = FC_MAX_WSHIFT if kind == OpKind.FULLY_CONNECTED else MAX_WSHIFT
    for k in range(min(top + SPARE_BITS, limit), top, -1):
        if int(shift[live].min()) - k >= -31 and int(bound.max()) << k < 2 ** 31:
            return k
    return 0


def fc_as_conv(tail: list) -> tuple:
    """(geo, tail) of a conv kernel running FULLY_CONNECTED as a 1x1 conv over a 1 x batches image of accum_depth
    channels, from lowbit.py's FC tail (batches, accum depth, input, out depth, bias, output)."""
    one, zero = Literal(1), Literal(0)
    geo = [one, one, one, one, zero, zero]
    return geo, [one, one, tail[0], tail[1], tail[2], one, one, tail[4], one, tail[0], tail[3], tail[5]]


def decode_once(lop, rows: np.ndarray, bias, rq, head: list, geo: list, tail: list, in_c: int, make_reference):
    """lowbit.py's lowered op, switched to the decode-once kernel when `plan` allows (tail: the arguments
    from the batch count on, which both kernels share; head[4] the packed rows, ConstArg(2); ConstArg(1) the
    shifts). make_reference(rows, bias, rq): lowbit.py's reference for other weight values (weight_shift)."""
    kind, fmt, bits = lop.op.kind, head[1].value, head[2].value
    if kind == OpKind.FULLY_CONNECTED and field_bits(fmt, bits) < 4:
        # below 4 bits a row, FC runs as a 1x1 conv: tg_conv2d_lbx decodes pair-order fields through its
        # table, where the FC kernel decodes value by value
        in_c, kind, (geo, tail) = rows.shape[1], OpKind.CONV_2D, fc_as_conv(tail)
    k = weight_shift(kind, fmt, rows, bias, rq) if ENABLED else 0
    if k:
        rows = rows.astype(np.int64) << k
        bias = np.zeros(rows.shape[0], np.int64) if bias is None else np.asarray(bias, np.int64) << k
        bias = bias.astype(np.int32)
        rq = dataclasses.replace(rq, shift=np.asarray(rq.shift) - k)
    got = plan(lop.op, rows, bias, rq, head, geo, in_c, k, kind)
    if got is None:
        return lop
    fn, sources, lead, scratch, notes = got
    consts, tail = list(lop.const_arrays), list(tail)
    if k:
        from tinygen.lower.lowbit import encode_multipliers  # lowbit imports this module

        lo, code = encode_multipliers(rq.mult, rq.shift)
        consts[0], consts[1] = ConstArray("mult", lo), ConstArray("shift", code)
        lop = dataclasses.replace(lop, reference=make_reference(rows, bias, rq))
    at = 4 if kind == OpKind.FULLY_CONNECTED else 7  # the bias argument in tail
    folded = ConstArray("bias", fast.folded_bias(bias, rows, rq.input_offset))
    if isinstance(tail[at], ConstArg):
        consts[tail[at].index] = folded
    else:
        consts.append(folded)
        tail[at] = ConstArg(len(consts) - 1)
    data = None
    if kind == OpKind.CONV_2D:
        data = conv_rows(rows, consts[2].data.reshape(rows.shape[0], -1), fmt, bits)
    elif kind == OpKind.DEPTHWISE_CONV_2D and fmt in (2, 3):
        data = index_rows(rows, fmt)
    if data is not None:
        consts[2] = ConstArray("w", data.ravel())
        lead = [*lead[:5], Literal(data.shape[1]), *lead[6:]]  # the row bytes
    return dataclasses.replace(lop, c_function=fn, c_sources=sources, args=[*lead, *tail], const_arrays=consts,
                               scratch_bytes=scratch, notes={**lop.notes, **notes}, weight_shift=k)
