"""CONV_2D and FULLY_CONNECTED with binary weights on sums of absolute byte differences
(runtime_c/lowbit/tg_conv2d_usad.h).

With u = x + 128 and a mask byte m = 0x00 for +1, 0xFF for -1, |u - m| = s * u + 255 * [s = -1], so the
int8 accumulator bias + sum s * (x + input_offset) is bias' + sum |u - m| with the per-channel constant
bias' = bias + (input_offset - 128) * sum s - 255 * (number of -1 weights), folded here (the layer is
declined when it leaves int32). USADA8 takes 4 of these per instruction where SMLAD takes 2 products, so
the inner loop runs about half of the int8 kernel's inner-loop instructions per MAC (1x1 layers read each pixel's
input in place, other filters gather the window once per output pixel). The records and their exactness
check are the decode-once kernels' (lowbit_x), so the outputs equal lowbit.py's reference.

FULLY_CONNECTED runs as a 1x1 conv over a 1 x batches image. `lower` returns the lowered op, or None for what
the kernel does not take: other schemes, depthwise (it sums over taps, not channels), or records the bound
rules out.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from tinygen.ir import OpKind
from tinygen.lower import lowbit_x
from tinygen.lower.base import ConstArg, ConstArray, Literal, ScratchArg

ENABLED = True  # False: binary convs take the decode-once kernel (tests and benchmarks compare both)
BINARY = 3  # TG_WF_BINARY


def folded(bias, rows: np.ndarray, input_offset: int) -> np.ndarray:
    """bias' per row (int64): bias + (input_offset - 128) * sum s - 255 * count(s == -1)."""
    rows = rows.astype(np.int64)
    b = np.zeros(rows.shape[0], np.int64) if bias is None else np.asarray(bias, np.int64).reshape(-1)
    return b + (input_offset - 128) * rows.sum(axis=1) - 255 * (rows < 0).sum(axis=1)


def scratch_bytes(rq_words: int, n: int, out_c: int) -> int:
    """tg_conv2d_usad_get_buffer_size for rows of n = filter_h * filter_w * in_c values."""
    k4, blocks = -(-n // 4), -(-out_c // 4)
    return blocks * 16 * rq_words + blocks * 16 * k4 + 4 * k4


def lower(lop, rows: np.ndarray, bias, rq, head: list, geo: list, tail: list):
    """lowbit.py's lowered conv switched to tg_conv2d_usad, or None (head, geo, tail: lowbit.py's leading,
    geometry and trailing arguments; rows: the decoded int8 weights, one row per output channel)."""
    kind = lop.op.kind
    if not (ENABLED and lowbit_x.ENABLED) or kind == OpKind.DEPTHWISE_CONV_2D or head[1].value != BINARY:
        return None
    if kind == OpKind.FULLY_CONNECTED:
        geo, tail = lowbit_x.fc_as_conv(tail)
    got = lowbit_x._records(rows, bias, rq)
    const = folded(bias, rows, rq.input_offset)
    if got is None or np.any(np.abs(const) >= 2 ** 31):
        return None
    rq_words = got[0]
    out_c, n = rows.shape
    consts, bias_arg = list(lop.const_arrays), tail[7]
    if isinstance(bias_arg, ConstArg):
        consts[bias_arg.index] = ConstArray("bias", const.astype(np.int32))
    else:
        consts.append(ConstArray("bias", const.astype(np.int32)))
        bias_arg = ConstArg(len(consts) - 1)
    args = [ScratchArg(), head[4], head[5], *geo, Literal(rq.input_offset), Literal(rq.output_offset),
            Literal(rq.act_min), Literal(rq.act_max), ConstArg(0), ConstArg(1), Literal(rq_words), *tail[:7], bias_arg,
            *tail[8:]]
    notes = {**lop.notes, "kernel": "USADA8 on masks decoded once per call", "rq_words": rq_words}
    return dataclasses.replace(lop, c_function="tg_conv2d_usad", c_sources=("tg_conv2d_usad.c",), args=args,
                               const_arrays=consts, scratch_bytes=scratch_bytes(rq_words, n, out_c), notes=notes)
