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


def to_pairs(packed: np.ndarray, n: int) -> np.ndarray:
    """4-bit rows in value order (value j in nibble j) -> tg_lowbit_x.h's pair order: each full group of 4
    values v0..v3 as bytes (v0 | v2 << 4), (v1 | v3 << 4); the last n % 4 values stay in value order."""
    packed = np.asarray(packed, np.uint8)
    out = packed.copy()
    full = n // 4
    g = packed[:, :2 * full].reshape(packed.shape[0], full, 2)
    lo, hi = g & 0xF, g >> 4  # (v0, v2) and (v1, v3)
    out[:, :2 * full] = np.stack([lo[:, :, 0] | (lo[:, :, 1] << 4), hi[:, :, 0] | (hi[:, :, 1] << 4)],
                                 axis=2).reshape(packed.shape[0], 2 * full)
    return out


def tabbed(nibbles: bool, n: int, channels: int) -> bool:
    """tg_conv2d_lbx_use_tab: the 256-word pair table pays for itself."""
    return nibbles and channels * (n // 4) * 2 >= TAB_MIN_BYTES


def scratch_bytes(kind: OpKind, n: int, channels: int, in_c: int, rq_words: int, nibbles: bool = False) -> int:
    """tg_lowbit_x.h's scratch for n values per row and `channels` outputs (nibbles: a 4-bit format)."""
    k4, blocks = -(-n // 4), -(-channels // 4)
    if kind == OpKind.CONV_2D:
        head = 1024 if tabbed(nibbles, n, channels) and 8 * k4 < 1024 else 8 * k4
        return head + blocks * 16 * rq_words + blocks * 32 * k4 + -(-in_c // 4) * 4
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
    nibbles = head[1].value == 0 or (head[1].value == 1 and head[2].value == 4)
    head = [ScratchArg(), *head[1:]]
    quant = [Literal(rq.act_min), Literal(rq.act_max), ConstArg(0), ConstArg(1)]
    offsets = [Literal(rq.input_offset), Literal(rq.output_offset)]
    scratch = scratch_bytes(op.kind, n, channels, in_c, rq_words, nibbles)
    notes = {"decoded": "once per call", "rq_words": rq_words}
    if op.kind == OpKind.CONV_2D and nibbles:
        notes["rows"] = "pair order" + (", pair table" if tabbed(True, n, channels) else "")
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
    from the batch count on, which both kernels share; head[4] the packed rows, ConstArg(2))."""
    got = plan(lop.op, rows, bias, rq, head, geo, in_c)
    if got is None:
        return lop
    fn, sources, lead, scratch, notes = got
    consts, tail = list(lop.const_arrays), list(tail)
    at = 4 if lop.op.kind == OpKind.FULLY_CONNECTED else 7  # the bias argument in tail
    folded = ConstArray("bias", fast.folded_bias(bias, rows, rq.input_offset))
    if isinstance(tail[at], ConstArg):
        consts[tail[at].index] = folded
    else:
        consts.append(folded)
        tail[at] = ConstArg(len(consts) - 1)
    if notes.get("rows"):
        consts[2] = ConstArray("w", to_pairs(consts[2].data.reshape(rows.shape[0], -1), rows.shape[1]).ravel())
    return dataclasses.replace(lop, c_function=fn, c_sources=sources, args=[*lead, *tail], const_arrays=consts,
                               scratch_bytes=scratch, notes={**lop.notes, **notes})
