"""The fast depthwise kernel for depth multipliers that are multiples of 4 (tinygen/lower/fast_dw.py,
runtime_c/conv/tg_depthwise_mult_s8_fast.c): C vs its NumPy reference vs the portable kernel's reference,
on both kernel paths (KERNEL_PATHS: plain C, and the Cortex-M4 SIMD branch emulated on the host)."""
from __future__ import annotations

import numpy as np
import pytest

from test_kernels_conv import Case, build, sample_inputs
from tinygen.ir import Activation, OpKind
from tinygen.lower import conv, fast_dw
from tinygen.lower.base import lower_op
from tinygen.verify.hostbuild import KERNEL_PATHS

DW = OpKind.DEPTHWISE_CONV_2D

MULT_CASES = [
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


def test_tap_order():
    assert list(fast_dw.tap_order(1, 8)) == [0, 2, 1, 3, 4, 6, 5, 7]
    assert list(fast_dw.tap_order(2, 3)) == [0, 1, 2, 3, 4, 5]
    order = fast_dw.tap_order(3, 4)
    assert list(order[order]) == list(range(12))  # its own inverse


def test_mult_kernel_is_chosen_and_others_are_not():
    graph = build(MULT_CASES + [Case(DW, (1, 7, 6, 3), mult=2), Case(DW, (1, 5, 5, 4))])
    got = [lower_op(op, graph).c_function for op in graph.ops]
    assert got[:len(MULT_CASES)] == ["tg_depthwise_mult_s8_fast"] * len(MULT_CASES)
    assert "tg_depthwise_mult_s8_fast" not in got[len(MULT_CASES):]


def test_mult_reference_matches_portable_reference():
    graph = build(MULT_CASES, seed=3)
    rng = np.random.default_rng(4)
    for op in graph.ops:
        xs = sample_inputs(graph, rng)
        x = xs[graph.inputs.index(op.inputs[0])]
        want = conv.DepthwiseConv2DKernel().lower(op, graph).reference([x])[0]
        assert np.array_equal(want, lower_op(op, graph).reference([x])[0]), op.name


@pytest.mark.parametrize("kernel_path", KERNEL_PATHS)
def test_mult_c_matches_reference(kernel_path):
    from tinygen.verify.testing import run_c, run_reference

    graph = build(MULT_CASES, seed=7)
    rng = np.random.default_rng(8)
    for fill in (None, None, -128, 127):
        xs = sample_inputs(graph, rng, fill)
        for case, w, g in zip(MULT_CASES, run_reference(graph, xs), run_c(graph, xs, kernel_path=kernel_path)):
            bad = int(np.count_nonzero(w != g))
            assert bad == 0, f"{kernel_path}: {case} fill={fill}: {bad} of {w.size} bytes differ"
