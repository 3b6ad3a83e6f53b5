"""tg_conv2d_usad (binary convs by sums of absolute byte differences) and tg_conv2d_usad_t (ternary, two
masks a weight) against lowbit.py's reference, on the host (plain C and the DSP path emulated instruction by
instruction) and under QEMU on a Cortex-M4; and the layers their lowering must decline."""
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
    # windows from a strip (in_c % 4 != 0): taps dilated along the row, a 1x1 filter with stride 2
    Case(C, (1, 9, 8, 3), out_c=5, kernel=(2, 3), dilation=(1, 2), zp_in=90),
    Case(C, (1, 7, 7, 3), out_c=4, kernel=(1, 1), stride=(2, 2), same=False, zp_in=-100),
    # rows of 576 values: the plain-C sums take several rounds (64 words a round ternary, 128 binary)
    Case(C, (1, 4, 3, 64), out_c=5, kernel=(3, 3), zp_in=-128),
]
F = OpKind.FULLY_CONNECTED
FCS = [Case(F, (1, 20), out_c=7, per_channel=False), Case(F, (3, 16), out_c=5, act=Activation.RELU, zp_in=-128),
       Case(F, (2, 33), out_c=3, zp_in=127, zp_out=-128), Case(F, (1, 64), out_c=12, bias=False),
       Case(F, (1, 37), out_c=5, zp_in=-128, act=Activation.RELU)]


def _check(graph, xs_list, kernel_path):
    from tinygen.verify.testing import run_c, run_reference

    for xs in xs_list:
        want = run_reference(graph, xs)
        got = run_c(graph, xs, kernel_path=kernel_path)
        for i, (w, g) in enumerate(zip(want, got)):
            assert np.array_equal(w, g), f"{kernel_path}: case {i}: {np.count_nonzero(w != g)} of {w.size} differ"


def _functions(graph):
    return [lower_op(op, graph).c_function for op in graph.ops]


@pytest.fixture
def every_ternary_row(monkeypatch):
    """Ternary convs of a single output pixel take tg_conv2d_usad_t too (its lone-last-pixel path)."""
    monkeypatch.setattr(lowbit_usad, "TERNARY_MIN_PIXELS", 1)


USAD_T = {"tg_conv2d_usad_t", "tg_fully_connected_usad_t"}  # a one-batch fc takes the second


@pytest.mark.parametrize("kernel_path", KERNEL_PATHS)
@pytest.mark.parametrize("family", ["conv", "fc"])
def test_usad_ternary_matches_reference(kernel_path, family, every_ternary_row):
    cases = CASES if family == "conv" else FCS
    graph = tlb.encoded(cases, "ternary", seed=3)
    fns = _functions(graph)
    assert set(fns) <= USAD_T and "tg_conv2d_usad_t" in fns
    if family == "fc":
        assert "tg_fully_connected_usad_t" in fns
    assert any(lower_op(op, graph).notes.get("output offset") == "folded" for op in graph.ops)
    rng = np.random.default_rng(5)
    _check(graph, [sample_inputs(graph, rng, fill) for fill in (None, None, -128, 127)], kernel_path)


@pytest.mark.parametrize("kernel_path", KERNEL_PATHS)
def test_usad_ternary_with_left_and_right_shifts(kernel_path, every_ternary_row):
    """Left shifts of 1 and more (one shift less on the doubled accumulator), 0 and right shifts (the multiplier
    halved) side by side: the same bytes as the int8 requantization of the single accumulator."""
    graph = tlb.encoded(CASES, "ternary", seed=7)
    xs = tlb._large_multipliers(graph, np.random.default_rng(8), False)
    lops = [lower_op(op, graph) for op in graph.ops]
    assert {lop.c_function for lop in lops} == {"tg_conv2d_usad_t"}
    assert any(lop.notes["rq_words"] == 7 for lop in lops)
    fcs = tlb.encoded(FCS, "ternary", seed=7)  # the fc row kernel requantizes with tg_requantize
    xs_fc = tlb._large_multipliers(fcs, np.random.default_rng(8), False)
    assert "tg_fully_connected_usad_t" in _functions(fcs)
    _check(fcs, [xs_fc], kernel_path)
    _check(graph, [xs], kernel_path)


@pytest.mark.parametrize("kernel_path", KERNEL_PATHS)
def test_usad_ternary_with_the_output_offset_added(kernel_path, every_ternary_row, monkeypatch):
    """Records without the output offset (the kernel adds it), as when folding it could leave int32."""
    from tinygen.lower import fast_dw

    monkeypatch.setattr(fast_dw, "fold_output_offset", lambda *args: None)
    graph = tlb.encoded(CASES, "ternary", seed=9)
    assert {lower_op(op, graph).notes["output offset"] for op in graph.ops} == {"added"}
    rng = np.random.default_rng(10)
    _check(graph, [sample_inputs(graph, rng, fill) for fill in (None, 127)], kernel_path)


def test_usad_ternary_only_where_it_is_faster():
    """A conv of a single output pixel keeps the decode-once kernel (half of each 2-pixel block would idle);
    convs of 2 or more pixels take tg_conv2d_usad_t whatever their row length or input depth (measured faster
    on in_c 1, 2 and 4 with rows of 1 to 6 values, and on KWS, IC and digits: docs/benchmarks.md), an fc of
    one batch tg_fully_connected_usad_t, of more the conv kernel over its batches."""
    single = [Case(C, (1, 1, 1, 64), out_c=8, kernel=(1, 1)), Case(C, (1, 3, 3, 8), out_c=4, kernel=(3, 3), same=False)]
    assert _functions(tlb.encoded(single, "ternary")) == ["tg_conv2d_lbx"] * 2
    taken = [Case(C, (1, 2, 1, 64), out_c=8, kernel=(1, 1)), Case(C, (1, 4, 4, 16), out_c=5, kernel=(3, 3)),
             Case(F, (2, 66), out_c=3), Case(C, (1, 3, 3, 18), out_c=4, kernel=(1, 1)),
             Case(C, (1, 8, 8, 1), out_c=8, kernel=(3, 1)), Case(C, (1, 6, 6, 6), out_c=5, kernel=(3, 3)),
             Case(C, (1, 9, 9, 1), out_c=4, kernel=(10, 4)), Case(C, (1, 8, 8, 1), out_c=4, kernel=(1, 1))]
    assert _functions(tlb.encoded(taken, "ternary")) == ["tg_conv2d_usad_t"] * len(taken)
    rows = [Case(F, (1, 64), out_c=12), Case(F, (1, 7), out_c=3)]
    assert _functions(tlb.encoded(rows, "ternary")) == ["tg_fully_connected_usad_t"] * 2


def test_folded_constant_ternary():
    """bias'' + the two masks' SADs equals twice the int8 accumulator, on random rows and inputs."""
    rng = np.random.default_rng(1)
    rows = rng.integers(-1, 2, size=(6, 13)).astype(np.int8)
    bias = rng.integers(-1000, 1000, size=6)
    x = rng.integers(-128, 128, size=13)
    for off in (-127, 0, 128):
        u = (x + 128).astype(np.int64)
        m1, m2 = np.where(rows < 0, 255, 0), np.where(rows > 0, 0, 255)
        sad = np.abs(u[None, :] - m1).sum(axis=1) + np.abs(u[None, :] - m2).sum(axis=1)
        want = 2 * (bias + (rows.astype(np.int64) * (x + off)).sum(axis=1))
        assert np.array_equal(lowbit_usad.folded2(bias, rows, off) + sad, want)
    packed = lowbit_usad.mask_rows(rows)
    assert packed.shape == (6, 4)
    bits = np.unpackbits(packed, axis=1, bitorder="little").reshape(6, 4, 2, 4)  # row, group, (m1, m2), value
    m1, m2 = bits[:, :, 0].reshape(6, 16), bits[:, :, 1].reshape(6, 16)
    assert np.array_equal(m1[:, :13], rows != -1) and np.array_equal(m2[:, :13], rows == 1)
    assert m1[:, 13:].all() and m2[:, 13:].all()  # values past n: both masks 0x00


def test_doubled_requantization_is_the_same():
    """TFLM's requantization of acc equals the doubled one's of 2 * acc, for left, zero and right shifts."""
    from tinygen.lower import conv
    from tinygen.quant import qmath

    rng = np.random.default_rng(2)
    shifts = np.array([-31, -9, -1, 0, 1, 2, 7], np.int32)
    mult = (rng.integers(1 << 18, 1 << 19, size=shifts.size) << 12).astype(np.int32)
    rq = conv.Requant(mult, shifts, True, 0, 0, -128, 127)
    rq2 = lowbit_usad.doubled(rq)
    assert rq2.shift.tolist() == [-31, -9, -1, 0, 0, 1, 6]
    acc = rng.integers(-(1 << 20), 1 << 20, size=(1000, 1)).astype(np.int64) >> np.arange(shifts.size)
    for c in range(shifts.size):
        a = acc[:, c]
        want = qmath.multiply_by_quantized_multiplier(a, int(mult[c]), int(shifts[c]))
        got = qmath.multiply_by_quantized_multiplier(2 * a, int(rq2.mult[c]), int(rq2.shift[c]))
        assert np.array_equal(want, got), c
    odd = conv.Requant(np.array([(3 << 29) + 1], np.int32), np.array([-2], np.int32), True, 0, 0, -128, 127)
    assert lowbit_usad.doubled(odd) is None


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
def test_usad_on_cortex_m4_and_m3_equals_reference(tmp_path):
    import tinygen
    from tinygen.compiler import lower
    from tinygen.verify.testing import run_reference
    from test_dsp_emulation import batched, plan_samples

    for tool in ("arm-none-eabi-gcc", "qemu-system-arm"):
        if shutil.which(tool) is None:
            pytest.fail(f"missing tool {tool}: run `make sysdeps`")
    # cortex-m3 has no DSP extension: the kernels' plain-C sums (usad_bytes) run there
    for seed, shifts, scheme, board in ((1, False, "binary", "cortex-m4"), (4, True, "binary", "cortex-m4"),
                                        (3, False, "ternary", "cortex-m4"), (7, True, "ternary", "cortex-m4"),
                                        (1, False, "binary", "cortex-m3"), (7, True, "ternary", "cortex-m3")):
        graph = tlb.encoded(CASES + FCS, scheme, seed=seed)
        if shifts:
            tlb._large_multipliers(graph, np.random.default_rng(6), False)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(lowbit_usad, "TERNARY_MIN_PIXELS", 1)
            fns = {"tg_conv2d_usad"} if scheme == "binary" else USAD_T
            assert {lop.c_function for lop in lower(graph)} == fns
            out = tmp_path / f"usad_{scheme}_{seed}_{board}"
            tinygen.compile(graph, out, board=board)
            samples = plan_samples(graph, seed=11)
            on_m4 = tinygen.run(out, batched(samples), target="qemu")
            for i, s in enumerate(samples):
                for k, (w, q) in enumerate(zip(run_reference(graph, s), on_m4)):
                    got = np.ascontiguousarray(q[i]).reshape(w.shape)
                    assert np.array_equal(w, got), \
                        f"{scheme} seed {seed} {board} sample {i} output {k}: {np.count_nonzero(w != got)} differ"


def test_scratch_size_equals_the_c_twin(every_ternary_row):
    from tinygen.paths import runtime_file, runtime_include_dirs
    from tinygen.verify.hostbuild import build_extension

    args = ("int32_t rq_words, int32_t filter_h, int32_t filter_w, int32_t in_c, int32_t out_c, int32_t stride_h, "
            "int32_t stride_w, int32_t dilation_w, int32_t pad_top, int32_t pad_left, int32_t in_h, int32_t in_w, "
            "int32_t out_h, int32_t out_w")
    cdef = f"int32_t tg_conv2d_usad_get_buffer_size({args});\nint32_t tg_conv2d_usad_t_get_buffer_size({args});"
    sources = [runtime_file("tg_conv2d_usad.c"), runtime_file("tg_conv2d_usad_t.c")]
    _, lib = build_extension(cdef, "#include <stdint.h>\n" + cdef, sources, runtime_include_dirs())
    strips = 0
    for scheme, c_size in (("binary", lib.tg_conv2d_usad_get_buffer_size),
                           ("ternary", lib.tg_conv2d_usad_t_get_buffer_size)):
        graph = tlb.encoded(CASES, scheme)
        for op, case in zip(graph.ops, CASES):
            lop = lower_op(op, graph)
            x, y = (graph.tensors[t] for t in (op.inputs[0], op.outputs[0]))
            a = op.attrs
            want = c_size(lop.notes["rq_words"], *case.kernel, x.shape[3], y.shape[3], a.stride_h, a.stride_w,
                          a.dilation_w, a.padding.top, a.padding.left, x.shape[1], x.shape[2], y.shape[1], y.shape[2])
            assert lop.scratch_bytes == want, (scheme, case)
            strips += x.shape[3] % 4 != 0 and case.kernel != (1, 1)
    assert strips >= 6  # layers with a strip were among them
