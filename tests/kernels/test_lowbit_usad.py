"""tg_conv2d_usad (binary 1x1 convs by sums of absolute byte differences) against lowbit.py's reference,
on the host (plain C and the DSP path emulated instruction by instruction) and under QEMU on a Cortex-M4;
and the layers its lowering must decline."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from tinygen.ir import Activation, OpKind
from tinygen.lower import lowbit_usad
from tinygen.lower.base import lower_op
from tinygen.verify.hostbuild import KERNEL_PATHS

import test_lowbit as tlb
from test_kernels_conv import Case, sample_inputs

C = OpKind.CONV_2D
CASES = [
    Case(C, (1, 5, 4, 6), out_c=5, kernel=(1, 1), zp_in=-128),  # in_c % 4 != 0, out_c odd
    Case(C, (2, 3, 3, 20), out_c=7, kernel=(1, 1), zp_in=127, act=Activation.RELU),  # in_c % 16 != 0, batches
    Case(C, (1, 1, 1, 13), out_c=3, kernel=(1, 1), zp_out=-128, act=Activation.RELU6),  # one pixel
    Case(C, (1, 8, 8, 64), out_c=64, kernel=(1, 1), zp_out=127),  # many pixels, full blocks
    Case(C, (1, 4, 4, 33), out_c=9, kernel=(1, 1), per_channel=False, act=Activation.RELU_N1_TO_1),
    Case(C, (1, 3, 5, 1), out_c=1, kernel=(1, 1), zp_in=-128, zp_out=-128),  # one input, one output
    Case(C, (1, 4, 4, 16), out_c=6, kernel=(1, 1), bias=False),
    Case(C, (1, 2, 3, 7), out_c=4, kernel=(1, 1), zp_in=127, zp_out=127, act=Activation.RELU),
    # gathered windows: padding (taps at the zero point), stride, dilation, in_c 1, n not a multiple of 4
    Case(C, (1, 7, 6, 3), out_c=5, kernel=(3, 3), zp_in=-128),
    Case(C, (2, 8, 7, 1), out_c=16, kernel=(3, 3), stride=(2, 2), zp_in=127, act=Activation.RELU),
    Case(C, (1, 9, 7, 4), out_c=7, kernel=(2, 3), dilation=(2, 1), same=False, zp_out=-128),
    Case(C, (1, 6, 6, 4), out_c=6, kernel=(1, 1), stride=(2, 2), same=False, zp_in=127),
    Case(C, (1, 12, 5, 1), out_c=9, kernel=(10, 4), zp_in=-128, act=Activation.RELU6),
    Case(C, (1, 4, 4, 16), out_c=32, kernel=(3, 3), zp_in=-128, zp_out=127),
]
F = OpKind.FULLY_CONNECTED
FCS = [Case(F, (1, 20), out_c=7, per_channel=False), Case(F, (3, 16), out_c=5, act=Activation.RELU, zp_in=-128),
       Case(F, (2, 33), out_c=3, zp_in=127, zp_out=-128), Case(F, (1, 64), out_c=12, bias=False)]


def _check(graph, xs_list, kernel_path):
    from tinygen.verify.testing import run_c, run_reference

    for xs in xs_list:
        want = run_reference(graph, xs)
        got = run_c(graph, xs, kernel_path=kernel_path)
        for i, (w, g) in enumerate(zip(want, got)):
            assert np.array_equal(w, g), f"{kernel_path}: case {i}: {np.count_nonzero(w != g)} of {w.size} differ"


def _functions(graph):
    return [lower_op(op, graph).c_function for op in graph.ops]


@pytest.mark.parametrize("kernel_path", KERNEL_PATHS)
@pytest.mark.parametrize("family", ["conv", "fc"])
def test_usad_matches_reference(kernel_path, family):
    cases = CASES if family == "conv" else FCS
    graph = tlb.encoded(cases, "binary", seed=1)
    assert _functions(graph) == ["tg_conv2d_usad"] * len(cases)
    rng = np.random.default_rng(2)
    _check(graph, [sample_inputs(graph, rng, fill) for fill in (None, None, -128, 127)], kernel_path)


@pytest.mark.parametrize("kernel_path", KERNEL_PATHS)
def test_usad_with_left_and_right_shifts(kernel_path):
    """Multipliers straddling 1: left- and right-shifting channels in one block (TG_RQ_GEN records)."""
    graph = tlb.encoded(CASES, "binary", seed=4)
    rng = np.random.default_rng(6)
    xs = tlb._large_multipliers(graph, rng, False)
    assert _functions(graph) == ["tg_conv2d_usad"] * len(CASES)
    assert any(lower_op(op, graph).notes["rq_words"] == 7 for op in graph.ops)
    _check(graph, [xs], kernel_path)


def test_declined_layers():
    """Other schemes, depthwise layers, and records the bound rules out take other kernels."""
    ternary = tlb.encoded(CASES[:2], "ternary")
    assert "tg_conv2d_usad" not in _functions(ternary)
    others = [Case(OpKind.DEPTHWISE_CONV_2D, (1, 5, 5, 4)), Case(OpKind.DEPTHWISE_CONV_2D, (1, 5, 5, 4), kernel=(1, 1))]
    assert "tg_conv2d_usad" not in _functions(tlb.encoded(others, "binary"))
    tiny = tlb.encoded([tlb.TinyOutCase(C, (1, 4, 4, 8), out_c=6, kernel=(1, 1))], "binary")
    assert _functions(tiny) == ["tg_conv2d_lb"]


def test_folded_constant():
    """bias' + SAD(u, masks) equals the int8 accumulator, on random rows and inputs."""
    rng = np.random.default_rng(0)
    rows = np.where(rng.integers(0, 2, size=(5, 11)) == 1, 1, -1).astype(np.int8)
    bias = rng.integers(-1000, 1000, size=5)
    x = rng.integers(-128, 128, size=11)
    for off in (-127, 0, 128):
        u = (x + 128).astype(np.int64)
        m = np.where(rows > 0, 0, 255)
        sad = np.abs(u[None, :] - m).sum(axis=1)
        want = bias + (rows.astype(np.int64) * (x + off)).sum(axis=1)
        assert np.array_equal(lowbit_usad.folded(bias, rows, off) + sad, want)


@pytest.mark.qemu
def test_usad_on_cortex_m4_equals_reference(tmp_path):
    import tinygen
    from tinygen.compiler import lower
    from tinygen.verify.testing import run_reference
    from test_dsp_emulation import batched, plan_samples

    for tool in ("arm-none-eabi-gcc", "qemu-system-arm"):
        if shutil.which(tool) is None:
            pytest.fail(f"missing tool {tool}: run `make sysdeps`")
    for seed, shifts in ((1, False), (4, True)):
        graph = tlb.encoded(CASES + FCS, "binary", seed=seed)
        if shifts:
            tlb._large_multipliers(graph, np.random.default_rng(6), False)
        assert {lop.c_function for lop in lower(graph)} == {"tg_conv2d_usad"}
        out = tmp_path / f"usad_{seed}"
        tinygen.compile(graph, out, board="cortex-m4")
        samples = plan_samples(graph, seed=11)
        on_m4 = tinygen.run(out, batched(samples), target="qemu")
        for i, s in enumerate(samples):
            for k, (w, q) in enumerate(zip(run_reference(graph, s), on_m4)):
                got = np.ascontiguousarray(q[i]).reshape(w.shape)
                assert np.array_equal(w, got), f"seed {seed} sample {i} output {k}: {np.count_nonzero(w != got)} differ"


def test_scratch_size_equals_the_c_twin():
    from tinygen.paths import runtime_file, runtime_include_dirs
    from tinygen.verify.hostbuild import build_extension

    cdef = ("int32_t tg_conv2d_usad_get_buffer_size(int32_t rq_words, int32_t filter_h, int32_t filter_w, "
            "int32_t in_c, int32_t out_c);")
    _, lib = build_extension(cdef, "#include <stdint.h>\n" + cdef, [runtime_file("tg_conv2d_usad.c")],
                             runtime_include_dirs())
    graph = tlb.encoded(CASES, "binary")
    for op, case in zip(graph.ops, CASES):
        lop = lower_op(op, graph)
        fh, fw = case.kernel
        want = lib.tg_conv2d_usad_get_buffer_size(lop.notes["rq_words"], fh, fw, case.in_shape[3], case.out_c)
        assert lop.scratch_bytes == want == lowbit_usad.scratch_bytes(lop.notes["rq_words"], fh * fw * case.in_shape[3],
                                                                      case.out_c)
