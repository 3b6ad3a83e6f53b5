"""The fast depthwise kernels: depth multipliers that are multiples of 4 (tinygen/lower/fast_dw.py,
runtime_c/conv/tg_depthwise_mult_s8_fast.c) and the per-pixel core's odd last tap, single tap and
stepped tap pointers (runtime_c/conv/tg_depthwise_conv2d_s8_fast.c, tg_depthwise_s8_fast_pixel.c):
C vs its NumPy reference vs the portable kernel's reference, on both kernel paths (KERNEL_PATHS: plain C,
and the Cortex-M4 SIMD branch emulated on the host)."""
from __future__ import annotations

import numpy as np
import pytest

from test_kernels_conv import Case, build, sample_inputs
from tinygen.ir import Activation, OpKind
from tinygen.lower import conv, fast_dw
from tinygen.lower.base import lower_op
from tinygen.verify.hostbuild import KERNEL_PATHS

DW = OpKind.DEPTHWISE_CONV_2D

MULTIPLIER_CASES = [
    # one input channel with filter widths % 4 == 0 (4 columns per load inside, per tap at the borders),
    # stride 2, valid padding, batches, several input channels, odd tap counts, dilated columns and rows,
    # left-shifting multipliers (saturate)
    Case(DW, (1, 13, 11, 1), mult=8, kernel=(4, 8), stride=(2, 2), act=Activation.RELU),
    Case(DW, (2, 6, 9, 1), mult=4, kernel=(5, 8), same=False, zp_in=-128, zp_out=127),
    Case(DW, (1, 9, 12, 1), mult=4, kernel=(3, 4), zp_in=127, act=Activation.RELU6),
    Case(DW, (1, 6, 7, 3), mult=4, stride=(2, 2), per_channel=False),
    Case(DW, (1, 7, 9, 2), mult=8, kernel=(2, 4), dilation=(2, 2), bias=False),
    Case(DW, (1, 5, 8, 1), mult=4, kernel=(3, 4), saturate=True),
    Case(DW, (1, 4, 3, 1), mult=12, kernel=(1, 1), same=False, zp_in=-128),
]

# depth multiplier 1 (tg_depthwise_conv2d_s8_fast): a 1x1 filter (one tap), 25 taps (odd, the most) with
# interior windows stepped by 2 columns, dilated and strided columns, even tap counts, 3 groups of 4
DW1_CASES = [
    Case(DW, (1, 5, 6, 4), kernel=(1, 1), zp_in=-128, act=Activation.RELU),
    Case(DW, (1, 9, 12, 8), kernel=(5, 5), stride=(1, 2), zp_in=127),
    Case(DW, (1, 6, 13, 4), dilation=(1, 2), stride=(2, 3), per_channel=False, saturate=True),
    Case(DW, (1, 7, 8, 12), kernel=(2, 4), same=False, bias=False),
    Case(DW, (1, 3, 9, 4), kernel=(3, 1), act=Activation.RELU6),
    # 3x3 with the output offset folded into the records (the unrolled 9-tap group): right shifts,
    # left shifts (saturate), a relu6 clamp at the lowest zero point
    Case(DW, (1, 6, 7, 8), zp_in=-128, zp_out=-128, act=Activation.RELU6),
    Case(DW, (1, 5, 6, 12), zp_out=90, saturate=True),
]

MULT_CASES = MULTIPLIER_CASES + DW1_CASES  # every case here (tests/kernels/test_dsp_emulation.py runs them too)


def test_tap_order():
    assert list(fast_dw.tap_order(1, 8)) == [0, 2, 1, 3, 4, 6, 5, 7]
    assert list(fast_dw.tap_order(2, 3)) == [0, 1, 2, 3, 4, 5]
    order = fast_dw.tap_order(3, 4)
    assert list(order[order]) == list(range(12))  # its own inverse


def test_mult_kernel_is_chosen_and_others_are_not():
    graph = build(MULTIPLIER_CASES + [Case(DW, (1, 7, 6, 3), mult=2), Case(DW, (1, 5, 5, 4))])
    got = [lower_op(op, graph).c_function for op in graph.ops]
    n = len(MULTIPLIER_CASES)
    assert got[:n] == ["tg_depthwise_mult_s8_fast"] * n
    assert "tg_depthwise_mult_s8_fast" not in got[n:]


def test_mult_reference_matches_portable_reference():
    graph = build(MULTIPLIER_CASES, seed=3)
    rng = np.random.default_rng(4)
    for op in graph.ops:
        xs = sample_inputs(graph, rng)
        x = xs[graph.inputs.index(op.inputs[0])]
        want = conv.DepthwiseConv2DKernel().lower(op, graph).reference([x])[0]
        assert np.array_equal(want, lower_op(op, graph).reference([x])[0]), op.name


def test_multiplier_1_cases_take_the_fast_kernel():
    graph = build(DW1_CASES)
    assert [lower_op(op, graph).c_function for op in graph.ops] == ["tg_depthwise_conv2d_s8_fast"] * len(DW1_CASES)


@pytest.mark.parametrize("kernel_path", KERNEL_PATHS)
def test_mult_c_matches_reference(kernel_path):
    from tinygen.verify.testing import run_c, run_reference

    cases = MULT_CASES
    graph = build(cases, seed=7)
    rng = np.random.default_rng(8)
    for fill in (None, None, -128, 127):
        xs = sample_inputs(graph, rng, fill)
        for case, w, g in zip(cases, run_reference(graph, xs), run_c(graph, xs, kernel_path=kernel_path)):
            bad = int(np.count_nonzero(w != g))
            assert bad == 0, f"{kernel_path}: {case} fill={fill}: {bad} of {w.size} bytes differ"


def _rq(rec, words, acc, off):
    """tg_rq_apply on every channel (Python integers), plus the output offset."""
    out = []
    g = rec.reshape(-1, 4 * words).astype(np.int64)
    for c, a in enumerate(acc):
        r = [int(v) for v in g[c // 4, 4 + (c % 4) * (words - 1):4 + (c % 4 + 1) * (words - 1)]]
        x, sign = int(a), -1 if a < 0 else 0
        if words == 7:
            x = (x << r[4]) & 0xFFFFFFFF
            x -= (x >> 31) << 32
            sign = -1 if (x < 0 and r[5] == -1) else 0
        total = x * r[0] + (r[2] << 32) + (r[1] & 0xFFFFFFFF) + sign * 2**31
        hi = (total >> 32) & 0xFFFFFFFF
        hi -= (hi >> 31) << 32
        out.append((hi >> r[3]) + off)
    return out


@pytest.mark.parametrize("shifts", [(-1, -3, -9, -20), (2, -1, 0, -7)])
def test_fold_output_offset_is_exact(shifts):
    from tinygen.lower.fast import acc_bound, requant_records

    rng = np.random.default_rng(5)
    rows = rng.integers(-128, 128, (8, 9))
    bias = rng.integers(-3000, 3000, 8)
    bound = acc_bound(rows, bias)
    rq = conv.Requant(np.full(8, 1_518_500_250, np.int32), np.array(shifts * 2, np.int32), True, 0, 0, -128, 127)
    words, rec = requant_records(bias, rq, 8, bound)
    for off in (-128, -1, 0, 55, 127):
        folded = fast_dw.fold_output_offset(rec, words, bound, off)
        assert folded is not None
        for sample in range(20):
            acc = rng.integers(-bound, bound + 1) if sample else (bound if sample % 2 else -bound)
            assert _rq(folded, words, acc, 0) == _rq(rec, words, acc, off), (off, sample)


def test_fold_output_offset_refuses_overflow():
    from tinygen.lower.fast import requant_records

    bound = np.full(4, 2**31 - 1, np.int64)
    rq = conv.Requant(np.full(4, 2**30, np.int32), np.full(4, -24, np.int32), True, 0, 0, -128, 127)
    words, rec = requant_records(np.zeros(4, np.int64), rq, 4, bound)
    assert fast_dw.fold_output_offset(rec, words, bound, 127) is None
    assert fast_dw.fold_output_offset(rec, words, bound, 0) is not None
