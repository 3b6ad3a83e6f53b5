"""Fast conv-family kernels (tinygen/lower/fast.py, runtime_c/tg_*_fast.c): C vs their NumPy reference
vs the portable kernels' reference, on a plan of shapes / strides / zero points, and whole models vs TFLM.

The C runs on both kernel paths (KERNEL_PATHS): "portable" (the plain C branch) and "device" (the
Cortex-M4+ SIMD branch, its instructions emulated by runtime_c/include/tg_dsp_emul.h).
"""
from __future__ import annotations

import shutil

import numpy as np
import pytest

import tinygen.lower.fast as fast
import tinygen.lower.fast_rgb as fast_rgb
from oracle import tflm_run
from test_kernels_conv import Case, build, sample_inputs
from tinygen.verify.hostbuild import KERNEL_PATHS
from tinygen.ir import Activation, OpKind
from tinygen.lower import conv
from tinygen.lower.base import lower_op

C2, DW, FC = OpKind.CONV_2D, OpKind.DEPTHWISE_CONV_2D, OpKind.FULLY_CONNECTED

FAST_CASES = [
    # conv: 1x1 (pointwise GEMM; odd pixel count and odd channel count), im2col with and without
    # groups of 4 channels, strides, dilation, padding, first-layer shapes (1 and 3 channels)
    Case(C2, (1, 5, 5, 8), out_c=6, kernel=(1, 1)),
    Case(C2, (2, 3, 5, 16), out_c=7, kernel=(1, 1), zp_in=-128, act=Activation.RELU),
    Case(C2, (1, 6, 6, 4), out_c=5, kernel=(1, 1), stride=(2, 2), same=False, per_channel=False),
    Case(C2, (1, 7, 6, 3), out_c=8, stride=(2, 2), zp_in=-128),
    Case(C2, (1, 9, 6, 1), out_c=4, kernel=(4, 3), stride=(2, 2), zp_in=83, act=Activation.RELU),
    Case(C2, (1, 6, 6, 16), out_c=9, zp_in=127, zp_out=-128),
    Case(C2, (1, 8, 7, 8), out_c=4, stride=(2, 2), bias=False),
    Case(C2, (1, 9, 7, 4), out_c=3, dilation=(2, 2), act=Activation.RELU6),
    Case(C2, (1, 5, 5, 16), out_c=5, saturate=True),
    # the extended column: 3 groups of 4 channels per tap (odd), 49 taps (above the in-place limit), 1 output
    Case(C2, (1, 6, 5, 12), out_c=6, zp_in=-128, act=Activation.RELU),
    Case(C2, (1, 8, 8, 4), out_c=5, kernel=(7, 7), stride=(2, 2), zp_in=127),
    Case(C2, (1, 4, 4, 8), out_c=1, kernel=(3, 3), same=False),
    # the extended column gathered first (channels % 4 != 0): a KWS-like first layer (1 channel, 10x4,
    # stride 2, k = 40), and windows of 6 and 27 values padded to 8 and 28
    Case(C2, (1, 13, 7, 1), out_c=8, kernel=(10, 4), stride=(2, 2), zp_in=-128, act=Activation.RELU),
    Case(C2, (1, 5, 4, 2), out_c=5, kernel=(3, 1), zp_in=127),
    Case(C2, (1, 6, 5, 3), out_c=7, kernel=(3, 3), zp_in=-37, act=Activation.RELU6),
    # 3x3x3 windows on tg_conv2d_s8_fast_rgb (the two above too): valid padding and 2 batches with an odd
    # output count, a VWW-like stride 2 padded only at the right and bottom, strides 2 x 1, saturation
    Case(C2, (2, 9, 11, 3), out_c=5, same=False, zp_in=5),
    Case(C2, (1, 10, 10, 3), out_c=16, stride=(2, 2), zp_in=127, zp_out=-128, per_channel=False),
    Case(C2, (1, 4, 5, 3), out_c=12, stride=(2, 1), zp_in=-1, saturate=True),
    # depthwise: 3x3 stride 1 / 2, same / valid, odd tap counts, 1-D filters, dilation
    Case(DW, (1, 7, 5, 8)),
    Case(DW, (1, 8, 8, 4), stride=(2, 2), act=Activation.RELU, zp_in=-128),
    Case(DW, (1, 7, 7, 12), stride=(2, 2), same=False, bias=False, zp_out=127),
    Case(DW, (1, 9, 1, 8), kernel=(5, 1), same=False, zp_in=127),
    Case(DW, (1, 9, 9, 4), dilation=(2, 2), per_channel=False, act=Activation.RELU6),
    Case(DW, (2, 4, 6, 4), kernel=(2, 2)),
    Case(DW, (1, 5, 5, 8), saturate=True),
    # 3x3 with no lower clamp: each row's inside windows in one call (tg_depthwise_s8_fast_run9), stride 2
    # padded at the right and bottom only, dilation with 2 batches, 16 channels with one per-tensor scale
    Case(DW, (1, 8, 8, 4), stride=(2, 2), act=Activation.RELU, zp_in=-128, zp_out=-128),
    Case(DW, (2, 9, 9, 4), dilation=(2, 2), zp_out=-128, act=Activation.RELU6),
    Case(DW, (1, 6, 4, 16), zp_in=127, per_channel=False),
    # fully connected: odd outputs, pairs of batches and an odd last batch
    Case(FC, (1, 20), out_c=7, per_channel=False),
    Case(FC, (3, 16), out_c=5, per_channel=False, act=Activation.RELU, zp_in=-128),
    Case(FC, (2, 64), out_c=6, per_channel=True, bias=False, zp_in=127, zp_out=127),
    Case(FC, (1, 64), out_c=6, per_channel=False, saturate=True, zp_out=-128),
    Case(FC, (1, 28), out_c=9, act=Activation.RELU6, zp_in=-128),  # 7 groups: every loop remainder
]


def test_fast_kernels_are_chosen():
    graph = build(FAST_CASES)
    for op in graph.ops:
        assert lower_op(op, graph).notes.get("kernel") == "fast", op.name


def test_fast_falls_back_to_portable():
    """Grouped conv, depth multiplier 2, channels % 4 and FC filter offsets stay on the portable kernels."""
    cases = [Case(C2, (1, 6, 6, 4), out_c=6, groups=2), Case(DW, (1, 7, 6, 3), mult=2),
             Case(DW, (1, 7, 6, 6)), Case(FC, (2, 12), out_c=4, per_channel=False, w_zp=3)]
    graph = build(cases)
    for op in graph.ops:
        assert lower_op(op, graph).notes.get("kernel") != "fast", op.name


def test_fast_reference_matches_portable_reference():
    """The folded-constant NumPy reference equals conv.py's TFLM-exact reference."""
    graph = build(FAST_CASES, seed=3)
    rng = np.random.default_rng(4)
    for op in graph.ops:
        xs = sample_inputs(graph, rng)
        x = xs[graph.inputs.index(op.inputs[0])]
        port = next(k for k in fast._REGISTRY[op.kind] if isinstance(k, (conv.Conv2DKernel,
                    conv.DepthwiseConv2DKernel, conv.FullyConnectedKernel)))
        want = port.lower(op, graph).reference([x])[0]
        got = lower_op(op, graph).reference([x])[0]
        assert np.array_equal(want, got), op.name


@pytest.mark.parametrize("kernel_path", KERNEL_PATHS)
def test_fast_c_matches_reference(kernel_path):
    from tinygen.verify.testing import run_c, run_reference

    graph = build(FAST_CASES, seed=7)
    rng = np.random.default_rng(8)
    for fill in (None, None, -128, 127):
        xs = sample_inputs(graph, rng, fill)
        want = run_reference(graph, xs)
        got = run_c(graph, xs, kernel_path=kernel_path)
        for case, w, g in zip(FAST_CASES, want, got):
            bad = int(np.count_nonzero(w != g))
            assert bad == 0, f"{kernel_path}: {case} fill={fill}: {bad} of {w.size} bytes differ"


@pytest.mark.parametrize("kernel_path", KERNEL_PATHS)
def test_in_place_variants_match_reference(kernel_path, monkeypatch):
    """The no-scratch variants that memory.schedule.trim_scratch can pick (FastConv2DInPlace: the window read
    in place; FastFullyConnected: the input rows read in place) on the conv and FC cases."""
    from tinygen.verify.testing import run_c, run_reference

    for kind, ext in ((C2, fast.FastConv2D), (FC, fast.FastFullyConnectedX)):
        monkeypatch.setitem(fast._REGISTRY, kind, [k for k in fast._REGISTRY[kind] if type(k) is not ext])
    cases = [c for c in FAST_CASES if c.kind in (C2, FC)]
    graph = build(cases, seed=11)
    for op in graph.ops:
        low = lower_op(op, graph)
        assert low.notes.get("kernel") == "fast" and low.notes.get("window") != "extended", op.name
        assert not low.c_function.endswith("_x"), op.name
    rng = np.random.default_rng(12)
    for fill in (None, -128, 127):
        xs = sample_inputs(graph, rng, fill)
        for case, w, g in zip(cases, run_reference(graph, xs), run_c(graph, xs, kernel_path=kernel_path)):
            assert np.array_equal(w, g), f"{kernel_path}: {case} fill={fill}"


def test_extended_variants_are_preferred():
    """With pre-extended weights the conv extends its column once per pixel into scratch (any channel
    count: 2 * the window rounded up to 4 values); FC always extends its input rows; the in-place
    variants come next in the registry."""
    graph = build([c for c in FAST_CASES if c.kind in (C2, FC)])
    for op in graph.ops:
        low = lower_op(op, graph)
        x = graph.tensors[op.inputs[0]]
        if op.kind == FC:
            assert low.c_function == "tg_fully_connected_s8_fast_x" and low.scratch_bytes == 2 * x.shape[-1]
        elif tuple(graph.tensors[op.inputs[1]].shape[1:]) == (3, 3, 3):  # the 3x3x3 kernel (fast_rgb.py)
            assert low.c_function == "tg_conv2d_s8_fast_rgb" and low.scratch_bytes == fast_rgb.RGB_SCRATCH, op.name
        else:
            k_pad = -(-int(np.prod(graph.tensors[op.inputs[1]].shape[1:])) // 4) * 4
            assert low.notes["window"] == "extended" and low.scratch_bytes == 2 * k_pad, op.name
    order = [type(k) for k in fast._REGISTRY[C2]]
    assert order.index(fast.FastConv2D) + 1 == order.index(fast.FastConv2DInPlace)
    order = [type(k) for k in fast._REGISTRY[FC]]
    assert order.index(fast.FastFullyConnectedX) + 1 == order.index(fast.FastFullyConnected)


def test_split_layout_identity():
    """The SPLIT weight layout (tg_gemm_s8_fast.h, wide = 2), its two SMLADs per word emulated in NumPy with
    the bias adjustment and the runtime correction, gives the plain dot product (extreme values included)."""
    rng = np.random.default_rng(0)
    w = rng.integers(-128, 128, (6, 20), dtype=np.int8)
    w[0], w[1] = -128, 127
    x = rng.integers(-128, 128, 20, dtype=np.int8)
    x[:4] = [-128, 127, -128, -128]
    words = fast.pack_gemm_rows(w, fast.SPLIT).view(np.uint8).reshape(2, 5, 4, 4)  # block, group, row, byte
    xb = (x.view(np.uint8) ^ np.tile(np.array([0x80, 0xFF], np.uint8), 10)).reshape(5, 4)
    lo16 = lambda b: int(b[0]) + 256 * int(b[1:2].view(np.int8)[0])  # the int16 halfword of 2 bytes
    acc = np.zeros(8, np.int64)
    for blk in range(2):
        for g in range(5):
            for r in range(4):
                c, v = words[blk, g, r], [int(t) for t in x[4 * g:4 * g + 4]]
                odd = c.view(np.int8)[1::2].astype(int)  # SXTB16(word ROR 8)
                acc[4 * blk + r] += lo16(c[0:2]) * v[1] + lo16(c[2:4]) * v[3]  # SMLAD(word, SXTB16(v ROR 8))
                acc[4 * blk + r] += odd[0] * lo16(xb[g][0:2]) + odd[1] * lo16(xb[g][2:4])  # SMLAD(.., v ^ k)
    rec = np.zeros((2 * 4, fast.RQ_RS), np.int32)  # zero biases: the adjusted biases are the adjustment alone
    bias = fast.split_bias_adjust(rec, fast.RQ_RS, w).reshape(2, 4 * fast.RQ_RS)[:, :4].ravel()
    got = acc + bias - 128 * x[1::2].astype(np.int64).sum()
    assert np.array_equal(got[:6], w.astype(np.int64) @ x.astype(np.int64))


def test_requantize_rs_matches_tflm_double_rounding():
    """tg_dsp.h's one-multiply requantizer vs qmath (TFLM) on edge and random values."""
    from tinygen.quant import qmath

    rng = np.random.default_rng(0)
    x = np.concatenate([rng.integers(-2**31, 2**31, 20000), rng.integers(-2**20, 2**20, 20000),
                        [0, 1, -1, 2**31 - 1, -2**31, 2**30, -2**30]]).astype(np.int64)
    for e in (1, 2, 7, 12, 20, 31):
        for m in (0, 2**30, 2**31 - 1, int(rng.integers(2**30, 2**31))):
            want = qmath.multiply_by_quantized_multiplier(x, m, -e)
            rnd = (1 << 30) + (1 << (30 + e)) - (x < 0).astype(np.int64) * (1 << 31)
            # x * m + rnd fits int64 (|x * m| < 2^62); the C does the same 64-bit sum
            got = ((x * m + rnd) >> 32) >> (e - 1)
            assert np.array_equal(want, got), (e, m)
    # left shifts L >= 0: hi32((x << (L + 1)) * m + 2^31) while x << (L + 1) fits int32
    for left in (0, 1, 3):
        xs = x[np.abs(x) < 2**(30 - left)]
        for m in (0, 2**30, 2**31 - 1, int(rng.integers(2**30, 2**31))):
            want = qmath.multiply_by_quantized_multiplier(xs, m, left)
            got = ((xs * (1 << (left + 1))) * m + (1 << 31)) >> 32
            assert np.array_equal(want, got), (left, m)


MODELS = {"kws": "mlperf/kws/kws_ref_model.tflite", "ad": "mlperf/ad/ad01_int8.tflite",
          "ic": "mlperf/ic/pretrainedResnet_quant.tflite", "vww": "mlperf/vww/vww_96_int8.tflite"}


@pytest.mark.parametrize("kernel_path", KERNEL_PATHS)
@pytest.mark.parametrize("key", sorted(MODELS))
def test_model_with_fast_kernels_matches_tflm(key, kernel_path, models_dir):
    from tinygen.compiler import load_model, lower
    from tinygen.verify.testing import run_c

    path = models_dir / MODELS[key]
    graph = load_model(str(path))
    kinds = {lop.notes.get("kernel") for lop in lower(graph) if lop.op.kind in (C2, DW, FC)}
    assert "fast" in kinds
    x = graph.tensors[graph.inputs[0]]
    rng = np.random.default_rng(11)
    for sample in (rng.integers(-128, 128, size=x.shape, dtype=np.int8), np.full(x.shape, -128, np.int8)):
        want = tflm_run(path, [sample])[0]
        got = run_c(graph, [sample], kernel_path=kernel_path)[0]
        assert np.array_equal(want.reshape(got.shape), got), (key, kernel_path)


def _add_graphs():
    from test_kernels_misc import A, T, single_op
    from tinygen.ir import ElementwiseAttrs

    specs = [  # (kind, in1, in2, out, activation): odd sizes exercise the tail loop
        (OpKind.ADD, T((1, 4, 4, 3), (0.05, 3)), T((1, 4, 4, 3), (0.03, -7)), T((1, 4, 4, 3), (0.07, -2)), A.RELU),
        (OpKind.ADD, T((1, 8, 8, 16), (0.1, -128)), T((1, 8, 8, 16), (0.1, 127)), T((1, 8, 8, 16), (0.15, 5)), A.NONE),
        (OpKind.ADD, T((1, 5, 7), (0.5, 0)), T((1, 5, 7), (0.5, 0)), T((1, 5, 7), (0.001, 0)), A.NONE),  # saturates
        (OpKind.ADD, T((1, 6, 6, 4), (0.02, 10)), T((1, 6, 6, 4), (0.09, -3)), T((1, 6, 6, 4), (0.05, -20)), A.RELU6),
        (OpKind.SUB, T((1, 4, 4, 3), (0.05, 3)), T((1, 4, 4, 3), (0.03, -7)), T((1, 4, 4, 3), (0.07, -2)), A.NONE),
        (OpKind.SUB, T((2, 9), (0.04, -1)), T((2, 9), (0.04, -1), const="r"), T((2, 9), (0.04, -1)), A.RELU_N1_TO_1),
    ]
    return [single_op(k, ElementwiseAttrs(activation=act), [a, b], out, seed=i)
            for i, (k, a, b, out, act) in enumerate(specs)]


@pytest.mark.parametrize("kernel_path", KERNEL_PATHS)
def test_fast_add_matches_portable_reference_and_c(kernel_path):
    from test_kernels_misc import random_inputs
    from tinygen.lower.elementwise import AddSubS8
    from tinygen.verify.testing import run_c

    for graph in _add_graphs():
        op = graph.ops[0]
        low = lower_op(op, graph)
        assert low.c_function == "tg_add_s8_fast", op.kind
        for seed in (1, 2):
            xs = random_inputs(graph, seed)
            want = AddSubS8().lower(op, graph).reference(xs)[0]
            assert np.array_equal(want, low.reference(xs)[0])
            assert np.array_equal(want.reshape(-1), run_c(graph, xs, kernel_path=kernel_path)[0].reshape(-1))


QEMU_CASES = [  # the asm paths: 1x1 / 3x3 conv, depthwise, split (batch 1) and wide FC,
    # asymmetric clamps, left-shifting multipliers (saturate: a tiny output scale)
    Case(C2, (1, 5, 5, 16), out_c=9, kernel=(1, 1), act=Activation.RELU6, zp_out=-100),
    Case(C2, (1, 6, 6, 8), out_c=8, stride=(2, 2), zp_in=-128, act=Activation.RELU),
    Case(C2, (1, 5, 5, 16), out_c=6, saturate=True),
    Case(DW, (1, 7, 7, 8), act=Activation.RELU_N1_TO_1, zp_out=20),
    Case(DW, (1, 5, 5, 8), saturate=True),
    Case(FC, (1, 64), out_c=7, per_channel=False, saturate=True, zp_out=-128),
    Case(FC, (2, 32), out_c=6, per_channel=False, act=Activation.RELU, zp_in=-128),
    Case(FC, (1, 36), out_c=10, act=Activation.RELU, zp_in=-128, zp_out=-128),  # split layout, odd k4
    Case(C2, (1, 6, 5, 12), out_c=7, zp_in=-128),  # extended column, 3 groups per tap, a partial block
    Case(FC, (1, 28), out_c=5, zp_in=127),  # extended split row, 7 groups (every loop remainder)
]


@pytest.mark.qemu
def test_fast_kernels_under_qemu_match_host(tmp_path):
    """Single-op graphs built for cortex-m4: the firmware under QEMU (asm paths) equals both host builds."""
    from tinygen.verify.runner import host_model, read_manifest

    import tinygen
    from test_kernels_misc import random_inputs

    missing = [t for t in ("arm-none-eabi-gcc", "qemu-system-arm") if shutil.which(t) is None]
    if missing:
        pytest.fail(f"missing tools {missing}: run `make sysdeps`")
    graphs = [build([case], seed=i) for i, case in enumerate(QEMU_CASES)] + _add_graphs()[:2]
    for i, graph in enumerate(graphs):
        out = tmp_path / f"g{i}"
        tinygen.compile(graph, out, board="cortex-m4")
        rand = random_inputs(graph, i)
        device = host_model(out, read_manifest(out), kernel_path="device")
        for xs in (rand, [np.full_like(x, -128) for x in rand]):
            want = tinygen.run(out, xs)
            got = tinygen.run(out, xs, target="qemu")
            emulated = device(xs)
            for w, g, e in zip(want, got, emulated):
                assert np.array_equal(w, g), f"graph {i} ({graph.ops[0].kind.value}): QEMU differs from host"
                assert np.array_equal(e.reshape(g.shape), g), f"graph {i}: QEMU differs from the emulated device path"


def test_rgb_value_order_is_a_permutation():
    """The 3x3x3 kernel's 28 positions hold each of the window's 27 values once, and one zero."""
    order = sorted(fast_rgb.RGB_ORDER)
    assert order == [-1] + list(range(27))
    rows = np.arange(2 * 27, dtype=np.int8).reshape(2, 27) - 20
    perm = fast_rgb.permute_rows(rows)
    assert perm.shape == (2, 28) and sorted(perm[0].tolist()) == sorted(rows[0].tolist() + [0])


def _dead_channel_graph():
    """Extended conv layers (1x1 GEMM, window, 3x3x3) whose channels 1 and 5 have only zero weights, a large
    bias and a tiny weight scale: a constant output behind an extreme shift."""
    from tinygen.ir import QuantParams

    cases = [Case(C2, (1, 5, 5, 8), out_c=8, kernel=(1, 1), zp_out=-128),
             Case(C2, (1, 6, 6, 4), out_c=6, zp_in=-128, zp_out=100, act=Activation.RELU),
             Case(C2, (1, 9, 8, 3), out_c=8, stride=(2, 2), zp_in=-128, zp_out=-128)]
    graph = build(cases, seed=21)
    for op in graph.ops:
        w = graph.tensors[op.inputs[1]]
        data = np.array(w.data)
        data[[1, 5]] = 0
        w.data = data
        scale = list(w.quant.scale)
        scale[1], scale[5] = scale[1] * 1e-7, scale[5] * 1e-6
        w.quant = QuantParams.make(scale, w.quant.zero_point, w.quant.axis)
        if len(op.inputs) > 2 and op.inputs[2] is not None:
            b = graph.tensors[op.inputs[2]]
            bias = np.array(b.data)
            bias[1], bias[5] = 2**30 - 7, -(2**29) + 3
            b.data = bias
            b.quant = QuantParams.make([s * graph.tensors[op.inputs[0]].scale for s in scale], [0] * len(scale), 0)
    return cases, graph


@pytest.mark.parametrize("kernel_path", KERNEL_PATHS)
def test_dead_channels_fold_the_output_offset(kernel_path):
    """Channels with only zero weights get an equivalent constant record (fast_dw.settle_dead_channels), so
    the output offset still folds into the records (output_offset 0: the GEMM's plain path); the C equals
    the NumPy reference and the portable kernel's TFLM-exact reference."""
    from tinygen.lower.csig import check_call
    from tinygen.verify.testing import run_c, run_reference

    cases, graph = _dead_channel_graph()
    for op in graph.ops:
        low = lower_op(op, graph)
        args = {p.name: a for p, a in zip(check_call(low), low.args)}
        assert args["output_offset"].value == 0, op.name
    rng = np.random.default_rng(22)
    for fill in (None, -128, 127):
        xs = sample_inputs(graph, rng, fill)
        want = run_reference(graph, xs)
        for op, x, w in zip(graph.ops, xs, want):
            port = next(k for k in fast._REGISTRY[C2] if isinstance(k, conv.Conv2DKernel))
            assert np.array_equal(port.lower(op, graph).reference([x])[0], w), op.name
        for case, w, g in zip(cases, want, run_c(graph, xs, kernel_path=kernel_path)):
            assert np.array_equal(w, g), f"{kernel_path}: {case} fill={fill}"


@pytest.mark.parametrize("kernel_path", KERNEL_PATHS)
def test_left_shift_records_on_the_3x3_paths(kernel_path):
    """Output scales small enough for left-shifting channels (TG_RQ_GEN records) on the 3x3 depthwise run and
    the 3x3x3 conv, both with the output offset folded and no lower clamp."""
    from tinygen.ir import QuantParams
    from tinygen.lower.csig import check_call
    from tinygen.verify.testing import run_c, run_reference

    cases = [Case(DW, (1, 7, 6, 8), zp_out=0), Case(C2, (1, 7, 7, 3), out_c=8, stride=(2, 2), zp_out=0)]
    graph = build(cases, seed=31)
    rng = np.random.default_rng(32)
    for op in graph.ops:
        # one weight of +-1 per output channel and an output scale giving multipliers up to 0.75 (shift 0: a
        # TG_RQ_GEN left-shift record), the outputs mostly inside int8
        x, w, y = (graph.tensors[t] for t in (op.inputs[0], op.inputs[1], op.outputs[0]))
        data = np.zeros(w.shape, np.int8)
        flat = data.reshape(-1, w.shape[-1]) if op.kind == DW else data.reshape(w.shape[0], -1)
        for c in range(flat.shape[1] if op.kind == DW else flat.shape[0]):
            k = int(rng.integers(0, flat.shape[0] if op.kind == DW else flat.shape[1]))
            if op.kind == DW:
                flat[k, c] = rng.choice([-1, 1])
            else:
                flat[c, k] = rng.choice([-1, 1])
        w.data = data
        if len(op.inputs) > 2 and op.inputs[2] is not None:
            b = graph.tensors[op.inputs[2]]
            b.data = np.zeros(b.shape, np.int32)
        y.quant = QuantParams.make([x.scale * max(w.quant.scale) / 0.75], [0], y.quant.axis)
        low = lower_op(op, graph)
        args = {p.name: a for p, a in zip(check_call(low), low.args)}
        assert (args["rq_words"].value, args["output_offset"].value, args["act_min"].value) == (7, 0, -128), op.name
    for fill in (None, -128, 127):
        xs = sample_inputs(graph, rng, fill)
        want = run_reference(graph, xs)
        if fill is None:
            assert all(np.mean((o > -128) & (o < 127)) > 0.5 for o in want)  # not all saturated
        for case, w, g in zip(cases, want, run_c(graph, xs, kernel_path=kernel_path)):
            assert np.array_equal(w, g), f"{kernel_path}: {case} fill={fill}"
