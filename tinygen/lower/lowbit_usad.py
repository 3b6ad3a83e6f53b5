"""CONV_2D and FULLY_CONNECTED with binary or ternary weights on sums of absolute byte differences
(runtime_c/lowbit/tg_conv2d_usad.h).

With u = x + 128 and a mask byte m = 0x00 for +1, 0xFF for -1, |u - m| = s * u + 255 * [s = -1], so the
int8 accumulator bias + sum s * (x + input_offset) is bias' + sum |u - m| with the per-channel constant
bias' = bias + (input_offset - 128) * sum s - 255 * (number of -1 weights), folded here (the layer is
declined when it leaves int32). USADA8 takes 4 of these per instruction where SMLAD takes 2 products, so
the inner loop runs about half of the int8 kernel's inner-loop instructions per MAC (1x1 layers read each pixel's
input in place, other filters gather the window once per output pixel: words straight from the input for an in_c
that is a multiple of 4, else runs of a strip, the filter's input rows copied once per output row with the
padding in place; strip_cols). The records and their exactness check are the decode-once kernels' (lowbit_x), so
the outputs equal lowbit.py's reference.

Ternary weights t take two mask bytes each, (0x00, 0x00) for +1, (0xFF, 0xFF) for -1, (0x00, 0xFF) for 0
(the rows store their bits, a nibble each: 2 bits a weight), so the two sums give twice the int8
accumulator (folded2), and tg_conv2d_usad_t requantizes that doubled accumulator with each channel's
multiplier halved or its left shift one less (`doubled`): the product TFLM forms is unchanged, so are the
outputs. Its blocks of 2 pixels by 2 channels take 10 instructions for 16 products where the int8 kernel's
SMLAD loop takes 11 (a column word holds 4 bytes here, 2 int16 there). Every ternary conv of 2 or more
output pixels takes it, whatever its row length or input depth (measured faster than the decode-once kernel
on rows of 1 to 6 values and on KWS's, IC's and digits' layers); a conv of a single output pixel keeps the
decode-once kernel (half of each block would idle), and a FULLY_CONNECTED of one batch takes
tg_fully_connected_usad_t, which reads each mask from the rows as its sums run (a mask is used once there,
so decoding ahead would only add work) and requantizes with tg_requantize.

Other FULLY_CONNECTED layers run as a 1x1 conv over a 1 x batches image. `lower` returns the lowered op, or
None for what the kernel does not take: other schemes, depthwise (it sums over taps, not channels), or records the bound
rules out.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from tinygen.ir import OpKind
from tinygen.lower import fast, lowbit_x
from tinygen.lower.base import ConstArg, ConstArray, Literal, ScratchArg

ENABLED = True  # False: binary convs take the decode-once kernel (tests and benchmarks compare both)
TERNARY_ENABLED = True  # False: ternary convs take the decode-once kernel
TERNARY_MIN_PIXELS = 2  # the fewest output pixels for tg_conv2d_usad_t (a block computes two)
TERNARY, BINARY = 2, 3  # TG_WF_TERNARY, TG_WF_BINARY


def folded(bias, rows: np.ndarray, input_offset: int) -> np.ndarray:
    """bias' per row (int64): bias + (input_offset - 128) * sum s - 255 * count(s == -1)."""
    rows = rows.astype(np.int64)
    b = np.zeros(rows.shape[0], np.int64) if bias is None else np.asarray(bias, np.int64).reshape(-1)
    return b + (input_offset - 128) * rows.sum(axis=1) - 255 * (rows < 0).sum(axis=1)


def folded2(bias, rows: np.ndarray, input_offset: int) -> np.ndarray:
    """bias'' per row (int64) of a ternary row: 2 * bias + 2 * (input_offset - 128) * sum t - 255 * count(t == 0)
    - 510 * count(t == -1), so that bias'' + sum (|u - m1| + |u - m2|) is twice the int8 accumulator: twice
    the binary constant (`folded`) less 255 for each zero."""
    return 2 * folded(bias, rows, input_offset) - 255 * (np.asarray(rows) == 0).sum(axis=1)


def doubled(rq):
    """The requantization of twice the accumulator that gives rq's outputs: a left shift s >= 1 becomes s - 1,
    any other channel's multiplier is halved (or None when one is odd)."""
    mult, shift = np.asarray(rq.mult, np.int64), np.asarray(rq.shift, np.int64)
    left = shift >= 1
    if np.any(~left & (mult % 2 != 0)):
        return None
    return dataclasses.replace(rq, mult=np.where(left, mult, mult >> 1).astype(np.int32),
                               shift=np.where(left, shift - 1, shift).astype(np.int32))


def mask_rows(rows: np.ndarray) -> np.ndarray:
    """tg_conv2d_usad_t's rows, ceil(n / 4) bytes: byte j holds weights 4j..4j+3, bit i set when t != -1
    (mask m1 0x00) and bit 4 + i set when t == +1 (mask m2 0x00); the bits of values past n are set (masks
    0x00 meet the column's 0 bytes there)."""
    c, n = rows.shape
    k4 = -(-n // 4)
    t = np.ones((c, 4 * k4), np.int64)  # padding as +1: both masks 0x00
    t[:, :n] = rows
    m1, m2 = (t != -1).reshape(c, k4, 4), (t == 1).reshape(c, k4, 4)
    weights = 1 << np.arange(4)
    return ((m1 * weights).sum(axis=2) | ((m2 * weights).sum(axis=2) << 4)).astype(np.uint8)


def _pointwise(geo: list, tail: list) -> bool:
    """A 1x1 filter, stride 1, no padding, output the input's size: the kernel reads each pixel's input."""
    return all(g.value == 1 for g in geo[:2]) and all(g.value == 0 for g in geo[4:6]) and \
        tail[5].value == tail[6].value == 1 and tail[8].value == tail[1].value and tail[9].value == tail[2].value


def strip_cols(geo: list, tail: list) -> int:
    """The columns of the kernels' strip (tg_usad.h usad_strip_cols): 0 for an in_c that is a multiple of 4 or a
    1x1 filter over its own pixels, else from ix = -pad_left to the last tap of the last output pixel."""
    if tail[3].value % 4 == 0 or _pointwise(geo, tail):
        return 0
    return (tail[9].value - 1) * geo[1].value + (tail[6].value - 1) * geo[3].value + 1


def _strip_bytes(filter_h: int, in_c: int, cols: int) -> int:
    return ((filter_h * cols * in_c + 3) & ~3) + 4 if cols else 0


def scratch_bytes(rq_words: int, out_c: int, filter_h: int, filter_w: int, in_c: int, cols: int) -> int:
    """tg_conv2d_usad_get_buffer_size (cols: strip_cols)."""
    k4, blocks = -(-filter_h * filter_w * in_c // 4), -(-out_c // 4)
    return blocks * 16 * rq_words + blocks * 16 * k4 + 4 * k4 + 4 + _strip_bytes(filter_h, in_c, cols)


def scratch_bytes_t(rq_words: int, out_c: int, filter_h: int, filter_w: int, in_c: int, cols: int) -> int:
    """tg_conv2d_usad_t_get_buffer_size (cols: strip_cols)."""
    k4, pairs = -(-filter_h * filter_w * in_c // 4), -(-out_c // 2)
    return pairs * 8 * rq_words + pairs * 16 * k4 + 12 * k4 + 4 + -(-out_c // 4) * 4 + \
        _strip_bytes(filter_h, in_c, cols)


def _doubled_exact(rows: np.ndarray, bias, rq):
    """(the doubled requantization, bias'', the doubled accumulator's bound, the bias folded with the input
    offset) or None when twice the accumulator or bias'' could leave int32 (or a multiplier is odd)."""
    rq2 = doubled(rq)
    if rq2 is None:
        return None
    bias_eff = fast.folded_bias(bias, rows, rq.input_offset)
    bound2 = 2 * fast.acc_bound(rows, bias_eff)
    const = folded2(bias, rows, rq.input_offset)
    if np.any(bound2 >= 2 ** 31) or np.any(np.abs(const) >= 2 ** 31):
        return None
    return rq2, const, bound2, bias_eff


def _ternary_records(rows: np.ndarray, bias, rq):
    """(rq_words, bias'', fold) for tg_conv2d_usad_t, or None when its records would not be exact (fold: the
    output offset fits the records' rounding words, checked as the decode-once kernels check it)."""
    got = _doubled_exact(rows, bias, rq)
    if got is None:
        return None
    rq2, const, bound2, bias_eff = got
    recs = fast.requant_records(bias_eff, rq2, rows.shape[0], bound2)
    if recs is None:
        return None
    from tinygen.lower.fast_dw import fold_output_offset  # fast_dw imports lowbit, which imports this

    return recs[0], const, fold_output_offset(recs[1], recs[0], bound2, rq.output_offset) is not None


def _with_bias(consts: list, bias_arg, const: np.ndarray):
    """(consts, bias argument) with bias'' in the bias slot (appended when the layer had no bias)."""
    consts = list(consts)
    if isinstance(bias_arg, ConstArg):
        consts[bias_arg.index] = ConstArray("bias", const.astype(np.int32))
        return consts, bias_arg
    consts.append(ConstArray("bias", const.astype(np.int32)))
    return consts, ConstArg(len(consts) - 1)


def _fc_row(lop, rows: np.ndarray, bias, rq, tail: list):
    """A ternary FULLY_CONNECTED of one batch on tg_fully_connected_usad_t (tail: lowbit.py's FC arguments from
    the batch count on), or None when twice its accumulator could leave int32."""
    got = _doubled_exact(rows, bias, rq)
    if got is None:
        return None
    data = mask_rows(rows)
    consts = list(lop.const_arrays)
    consts[2] = ConstArray("w", data.ravel())
    consts, bias_arg = _with_bias(consts, tail[4], got[1])
    args = [ScratchArg(), ConstArg(2), Literal(data.shape[1]), Literal(rq.output_offset), Literal(rq.act_min),
            Literal(rq.act_max), ConstArg(0), ConstArg(1), tail[1], tail[2], tail[3], bias_arg, tail[5]]
    notes = {**lop.notes, "kernel": "USADA8 on two masks a weight, read from the rows as the sums run"}
    return dataclasses.replace(lop, c_function="tg_fully_connected_usad_t", c_sources=("tg_conv2d_usad_t.c",),
                               args=args, const_arrays=consts, scratch_bytes=4 * data.shape[1], notes=notes)


def lower(lop, rows: np.ndarray, bias, rq, head: list, geo: list, tail: list):
    """lowbit.py's lowered conv switched to tg_conv2d_usad, or None (head, geo, tail: lowbit.py's leading,
    geometry and trailing arguments; rows: the decoded int8 weights, one row per output channel)."""
    kind, fmt = lop.op.kind, head[1].value
    if not (ENABLED and lowbit_x.ENABLED) or kind == OpKind.DEPTHWISE_CONV_2D:
        return None
    fc_tail = tail
    if kind == OpKind.FULLY_CONNECTED:
        geo, tail = lowbit_x.fc_as_conv(tail)
    pixels = tail[0].value * tail[8].value * tail[9].value  # batches * out_h * out_w
    if fmt == TERNARY and TERNARY_ENABLED and kind == OpKind.FULLY_CONNECTED and pixels == 1:
        return _fc_row(lop, rows, bias, rq, fc_tail)
    ternary = fmt == TERNARY and TERNARY_ENABLED and pixels >= TERNARY_MIN_PIXELS
    if fmt != BINARY and not ternary:
        return None
    out_c, n = rows.shape
    consts, bias_arg = list(lop.const_arrays), tail[7]
    shape = (out_c, tail[5].value, tail[6].value, tail[3].value, strip_cols(geo, tail))
    if ternary:
        got = _ternary_records(rows, bias, rq)
        if got is None:
            return None
        rq_words, const, fold = got
        data = mask_rows(rows)
        consts[2] = ConstArray("w", data.ravel())
        head = [*head[:5], Literal(data.shape[1])]
        fn, src, scratch = "tg_conv2d_usad_t", "tg_conv2d_usad_t.c", scratch_bytes_t(rq_words, *shape)
        note = "USADA8 on two masks a weight, decoded once per call; 2 pixels x 2 channels"
    else:
        got = lowbit_x._records(rows, bias, rq)
        const = folded(bias, rows, rq.input_offset)
        if got is None or np.any(np.abs(const) >= 2 ** 31):
            return None
        rq_words = got[0]
        fn, src, scratch = "tg_conv2d_usad", "tg_conv2d_usad.c", scratch_bytes(rq_words, *shape)
        note = "USADA8 on masks decoded once per call"
    consts, bias_arg = _with_bias(consts, bias_arg, const)
    offsets = [Literal(rq.input_offset), Literal(rq.output_offset)] + ([Literal(int(fold))] if ternary else [])
    args = [ScratchArg(), head[4], head[5], *geo, *offsets,
            Literal(rq.act_min), Literal(rq.act_max), ConstArg(0), ConstArg(1), Literal(rq_words), *tail[:7], bias_arg,
            *tail[8:]]
    notes = {**lop.notes, "kernel": note, "rq_words": rq_words}
    if ternary:
        notes["output offset"] = "folded" if fold else "added"
    return dataclasses.replace(lop, c_function=fn, c_sources=(src,), args=args,
                               const_arrays=consts, scratch_bytes=scratch, notes=notes)
