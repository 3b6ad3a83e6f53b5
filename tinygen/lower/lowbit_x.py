"""Decode-once lowering of low-bit weights (runtime_c/lowbit/tg_lowbit_x.h): the kernel decodes the packed
rows once per call into scratch, in the layout the int8 fast kernels read from flash, builds their
requantization records there too, and runs the int8 kernel. So the per-pixel work is int8's, the flash
keeps the packed rows and 3 bytes per channel, and the arena grows by the decoded filter and records.

`plan` decides offline whether the records are exact (fast.requant_records' overflow check on the
decoded weights, and the depthwise output-offset fold) and returns the argument list, scratch bytes and
runtime sources; None sends the layer to tg_lowbit.h's kernels. The reference is lowbit.py's (unpack
the bytes, then the int8 reference), so the C is checked against the packing as well.
"""
from __future__ import annotations

import contextlib
import dataclasses

import numpy as np

from tinygen.ir import Op, OpKind
from tinygen.lower import fast
from tinygen.lower.base import ConstArg, Literal, ScratchArg

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


def scratch_bytes(kind: OpKind, n: int, channels: int, in_c: int, rq_words: int) -> int:
    """tg_lowbit_x.h's scratch for n values per row and `channels` outputs."""
    k4, blocks = -(-n // 4), -(-channels // 4)
    if kind == OpKind.CONV_2D:
        return 8 * k4 + blocks * 16 * rq_words + blocks * 32 * k4 + -(-in_c // 4) * 4
    if kind == OpKind.DEPTHWISE_CONV_2D:
        pairs = -(-n // 2)
        return in_c * (4 * rq_words + 4 * pairs) + in_c + 4 * pairs
    return blocks * 16 * rq_words + blocks * 16 * k4 + 8 * k4


def plan(op: Op, rows: np.ndarray, bias, rq, head: list, geo: list, in_c: int):
    """(function, sources, args before the shape arguments, scratch bytes, notes) or None.

    rows: the decoded int8 weights, one row per output channel; head: lowbit.py's leading arguments
    (scratch, format, bits, codebook, weights, row bytes); geo: the six stride / dilation / padding ones."""
    channels, n = rows.shape
    if not ENABLED:
        return None
    if op.kind == OpKind.DEPTHWISE_CONV_2D and (op.attrs.depth_multiplier != 1 or in_c % 4 or n > MAX_DW_TAPS):
        return None
    if op.kind == OpKind.FULLY_CONNECTED and n % 4:
        return None
    got = _records(rows, bias, rq)
    if got is None:
        return None
    rq_words, rec, bound = got
    head = [ScratchArg(), *head[1:]]
    quant = [Literal(rq.act_min), Literal(rq.act_max), ConstArg(0), ConstArg(1)]
    offsets = [Literal(rq.input_offset), Literal(rq.output_offset)]
    scratch = scratch_bytes(op.kind, n, channels, in_c, rq_words)
    notes = {"decoded": "once per call", "rq_words": rq_words}
    if op.kind == OpKind.CONV_2D:
        return ("tg_conv2d_lbx", ("tg_conv2d_lbx.c", "tg_conv2d_s8_fast.c", *fast.GEMM_SOURCES),
                [*head, *geo, *offsets, *quant, Literal(rq_words)], scratch, notes)
    if op.kind == OpKind.DEPTHWISE_CONV_2D:
        from tinygen.lower.fast_dw import fold_output_offset  # fast_dw imports lowbit, which imports this

        fold = fold_output_offset(rec, rq_words, bound, rq.output_offset) is not None
        notes["output offset"] = "folded" if fold else "added"
        return ("tg_depthwise_conv2d_lbx", ("tg_depthwise_conv2d_lbx.c", *fast.DW_SOURCES),
                [*head, *geo, *offsets, Literal(int(fold)), *quant, Literal(rq_words)], scratch, notes)
    return ("tg_fully_connected_lbx", ("tg_fully_connected_lbx.c", "tg_fully_connected_s8_fast.c", *fast.GEMM_SOURCES),
            [*head, *offsets, *quant, Literal(rq_words)], scratch, notes)



def decode_once(lop, rows: np.ndarray, bias, rq, head: list, geo: list, tail: list, in_c: int):
    """lowbit.py's lowered op, switched to the decode-once kernel when `plan` allows (tail: the arguments
    from the batch count on, which both kernels share)."""
    got = plan(lop.op, rows, bias, rq, head, geo, in_c)
    if got is None:
        return lop
    fn, sources, lead, scratch, notes = got
    return dataclasses.replace(lop, c_function=fn, c_sources=sources, args=[*lead, *tail], scratch_bytes=scratch,
                               notes={**lop.notes, **notes})
