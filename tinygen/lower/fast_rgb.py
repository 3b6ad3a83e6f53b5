"""Lowering rule for the fast int8 first-layer convolution (runtime_c/conv/tg_conv2d_s8_fast_rgb.c): 3 input
channels, a 3x3 filter, dilation 1, weights used more than once (pre-extended). Each window's 27 values are
extended straight from the input rows into 14 int16 pairs (no byte gather); the filter rows are permuted to
that order here. Registered ahead of FastConv2D; other layers fall through to it.
"""
from __future__ import annotations

import numpy as np

from tinygen.ir import Graph, Op, OpKind
from tinygen.lower import conv
from tinygen.lower.base import ConstArg, ConstArray, Literal, LoweredOp, ScratchArg, TensorArg
from tinygen.lower.fast import (GEMM_SOURCES, WIDE, _Fast, _records, folded_bias, gemm_reference, pack_gemm_rows,
                                raw_windows, register_first, wide_weights)
from tinygen.lower.fast_dw import folded_records

RGB_SCRATCH = 92  # TG_CONV_RGB_SCRATCH
# the kernel's value order (tg_conv2d_s8_fast_rgb.h) as window indices k = 9 * row + 3 * column + channel:
# per row its bytes 0..7, then the rows' last bytes (8, 26 | 17, zero) as the GEMM's group of 4 reads them
RGB_ORDER = [9 * r + j for r in range(3) for j in range(8)] + [8, 26, 17, -1]


def permute_rows(rows: np.ndarray) -> np.ndarray:
    """(out_c, 27) int8 filter rows -> (out_c, 28) in RGB_ORDER, the unused position 0."""
    out = np.zeros((rows.shape[0], len(RGB_ORDER)), np.int8)
    for i, k in enumerate(RGB_ORDER):
        if k >= 0:
            out[:, i] = rows[:, k]
    return out


class FastConv2DRgb(_Fast):
    """CONV_2D with a 3x3x3 filter (an image model's first layer): the window extended from its three rows of
    9 bytes per output pixel, then blocks of 4 output channels on tg_gemm_s8_fast_x."""

    kinds = (OpKind.CONV_2D,)

    def shape_ok(self, op: Op, graph: Graph) -> bool:
        x, w = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1])
        a = op.attrs
        return len(x.shape) == 4 and x.shape[3] == 3 and tuple(w.shape[1:]) == (3, 3, 3) and w.encoding is None \
            and a.dilation_h == a.dilation_w == 1

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, w, b, y = conv._tensors(op, graph)
        a = op.attrs
        n, in_h, in_w, in_c = x.shape
        _, out_h, out_w, out_c = y.shape
        if not wide_weights(n * out_h * out_w) or in_c != 3 or w.shape[0] != out_c:
            raise ValueError("single-use weights or a filter that does not fit: FastConv2D takes it")
        rq = conv.conv_requant(op, x, w, y, out_c, 0)
        rows = np.asarray(w.data, np.int8).reshape(out_c, 27)
        zp = -rq.input_offset
        bias_eff = folded_bias(None if b is None else b.data, rows, rq.input_offset)
        rq_words, rec = _records(op, rq, rows, bias_eff)
        out_off, rec = folded_records(rec, rq_words, rows, bias_eff, rq)
        consts = [ConstArray("wpack", pack_gemm_rows(permute_rows(rows), WIDE)), ConstArray("quant", rec)]
        args = [ScratchArg(), Literal(a.stride_h), Literal(a.stride_w), Literal(1), Literal(1),
                Literal(a.padding.top), Literal(a.padding.left), Literal(zp), Literal(out_off), Literal(rq.act_min),
                Literal(rq.act_max), Literal(n), Literal(in_h), Literal(in_w), TensorArg(x.name), Literal(3),
                Literal(3), ConstArg(0), ConstArg(1),
                Literal(rq_words), Literal(out_h), Literal(out_w), Literal(out_c), TensorArg(y.name, const=False)]

        def reference(inputs):
            win = raw_windows(inputs[0], 3, 3, a, out_h, out_w, zp).reshape(n, out_h, out_w, -1)
            return [gemm_reference(win, rows, bias_eff, rq)]

        return LoweredOp(op, "tg_conv2d_s8_fast_rgb", ("tg_conv2d_s8_fast_rgb.c", *GEMM_SOURCES), args, consts,
                         reference, macs=n * out_h * out_w * out_c * 27, scratch_bytes=RGB_SCRATCH,
                         notes={"path": "rgb", "window": "extended rows", "kernel": "fast",
                                "per_channel": rq.per_channel})


register_first(FastConv2DRgb())
