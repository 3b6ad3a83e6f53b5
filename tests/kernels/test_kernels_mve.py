"""Helium (MVE) kernels (tinygen/lower/mve.py, runtime_c/mve/tg_*_mve.c) for boards with MVE.

The lowering's NumPy reference against the portable kernels' TFLM-exact reference; the plain-C path of
the MVE files on the host against it; and, under QEMU mps3-an547 (Cortex-M55, the MVE code itself),
single-op graphs over many shapes against the portable reference, and MLPerf Tiny models against TFLM.
"""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from oracle import tflm_run
from test_kernels_conv import Case, build, sample_inputs
from tinygen.ir import Activation, OpKind
from tinygen.lower import conv, mve
from tinygen.lower.base import _REGISTRY, lower_op
from tinygen.target.boards import load_board

C2, DW, FC = OpKind.CONV_2D, OpKind.DEPTHWISE_CONV_2D, OpKind.FULLY_CONNECTED
M55 = load_board("cortex-m55")

MVE_CASES = [
    # conv: 1x1 in place (k % 16 == 0 and not, out_c % 4 != 0, batches), gathered windows (first layers
    # with 1 and 3 channels, strides, padding, dilation, a window of 1008 bytes: the stack buffer holds 1024)
    Case(C2, (1, 5, 5, 64), out_c=9, kernel=(1, 1), act=Activation.RELU6, zp_out=-100),
    Case(C2, (2, 3, 5, 20), out_c=7, kernel=(1, 1), zp_in=-128, act=Activation.RELU),
    Case(C2, (1, 6, 6, 4), out_c=5, kernel=(1, 1), stride=(2, 2), same=False, per_channel=False),
    Case(C2, (1, 5, 7, 8), out_c=6, kernel=(1, 1), zp_in=-128, act=Activation.RELU),  # k <= 16: rows held
    Case(C2, (2, 6, 6, 16), out_c=8, kernel=(1, 1), stride=(2, 2), saturate=True),
    # 1x1 with k > 16, group by group over every pixel: k = 32 and 64 (unrolled copies) and 48 (generic),
    # strided, out_c % 4 != 0, saturation
    Case(C2, (1, 5, 7, 32), out_c=10, kernel=(1, 1), stride=(2, 2), same=False, zp_in=-128),
    Case(C2, (1, 3, 4, 64), out_c=6, kernel=(1, 1), saturate=True, zp_out=127),
    Case(C2, (2, 3, 3, 48), out_c=8, kernel=(1, 1), per_channel=False, act=Activation.RELU),
    Case(C2, (1, 9, 6, 1), out_c=12, kernel=(4, 3), stride=(2, 2), zp_in=83, act=Activation.RELU),
    Case(C2, (1, 7, 6, 3), out_c=8, stride=(2, 2), zp_in=-128),
    Case(C2, (1, 6, 6, 16), out_c=9, zp_in=127, zp_out=-128),
    Case(C2, (1, 9, 7, 4), out_c=3, dilation=(2, 2), act=Activation.RELU6),
    Case(C2, (1, 9, 7, 5), out_c=6, kernel=(1, 3), dilation=(1, 2), same=False, bias=False),
    Case(C2, (1, 4, 5, 112), out_c=6, stride=(1, 2), zp_in=-7),
    Case(C2, (1, 5, 5, 16), out_c=5, saturate=True),
    # window rows 16 bytes apart (row_layout), 4 of them (3 would go to tg_conv2d_s8_mve_rgb): dilated rows
    # with inside windows copied directly, rows of exactly 16 bytes
    Case(C2, (1, 10, 8, 4), out_c=5, kernel=(4, 3), dilation=(2, 1), zp_in=-128, act=Activation.RELU),
    Case(C2, (1, 8, 6, 8), out_c=4, kernel=(4, 2), stride=(2, 1), zp_in=100),
    # packed narrow rows (4 bytes, 5 rows) copied under a predicate, windows cut by the padding on each side
    Case(C2, (1, 12, 6, 1), out_c=8, kernel=(5, 4), stride=(2, 2), zp_in=-128, act=Activation.RELU),
    # depthwise, channels % 8 == 0: strides, valid / same, 1-D filters, dilation, batches, saturation
    Case(DW, (1, 7, 5, 8)),
    Case(DW, (1, 8, 8, 16), stride=(2, 2), act=Activation.RELU, zp_in=-128),
    Case(DW, (1, 7, 7, 24), stride=(2, 2), same=False, bias=False, zp_out=127),
    Case(DW, (1, 9, 1, 8), kernel=(5, 1), same=False, zp_in=127),
    Case(DW, (1, 9, 9, 8), dilation=(2, 2), per_channel=False, act=Activation.RELU6),
    Case(DW, (2, 4, 6, 16), kernel=(2, 2)),
    Case(DW, (1, 5, 5, 8), saturate=True),
    # interior pixels (every tap inside the image, no tap range computed) next to border ones
    Case(DW, (1, 9, 10, 16), zp_in=-128, zp_out=127, act=Activation.RELU6),
    Case(DW, (1, 8, 9, 8), kernel=(5, 3), stride=(2, 1), dilation=(1, 1), same=False),
    # fully connected: odd depths and outputs, batches, per-tensor, saturation
    Case(FC, (1, 20), out_c=7, per_channel=False),
    Case(FC, (3, 16), out_c=5, per_channel=False, act=Activation.RELU, zp_in=-128),
    Case(FC, (2, 67), out_c=6, per_channel=True, bias=False, zp_in=127, zp_out=127),
    Case(FC, (1, 640), out_c=13, per_channel=False, zp_in=-3),
    Case(FC, (1, 64), out_c=6, per_channel=False, saturate=True, zp_out=-128),
]

# tg_conv2d_s8_mve_rgb (at most 3 window rows of at most 16 bytes, dilation_w 1): 3x3 over 3 channels with
# stride 2 and SAME padding on even and odd sizes (no left / top border, and borders on every side), stride 1,
# VALID (no border), an image narrower than the window (no inside column), out_c % 4 != 0 and < 4, 4 and 2
# input channels, dilation_h, 2 rows of exactly 16 bytes, 1 row of 15, batches, clamps and saturation
RGB_CASES = [
    Case(C2, (1, 10, 10, 3), out_c=8, stride=(2, 2), zp_in=-128, zp_out=-128, act=Activation.RELU6),
    Case(C2, (1, 9, 11, 3), out_c=8, stride=(2, 2), zp_in=-128),
    Case(C2, (1, 7, 6, 3), out_c=5, zp_in=40, act=Activation.RELU),
    Case(C2, (1, 8, 9, 3), out_c=7, stride=(2, 2), same=False, zp_in=127, zp_out=127),
    Case(C2, (1, 6, 7, 3), out_c=3, stride=(1, 2), per_channel=False, bias=False, zp_in=-7),
    Case(C2, (1, 3, 2, 3), out_c=6, stride=(2, 2), zp_in=90),
    Case(C2, (1, 5, 5, 3), out_c=6, saturate=True),
    Case(C2, (2, 6, 5, 4), out_c=9, stride=(2, 1), zp_out=127),
    Case(C2, (1, 9, 8, 2), out_c=4, dilation=(2, 1), act=Activation.RELU, zp_in=-128),
    Case(C2, (1, 6, 6, 8), out_c=4, kernel=(2, 2), stride=(2, 1), zp_in=100),
    Case(C2, (1, 7, 5, 5), out_c=1, kernel=(1, 3), zp_in=-100, act=Activation.RELU_N1_TO_1),
]
ALL_CASES = MVE_CASES + RGB_CASES


def _lower_all(graph, board=M55):
    with mve.for_board(board):
        return [lower_op(op, graph) for op in graph.ops]


def _portable(op, graph):
    return next(k for k in _REGISTRY[op.kind] if isinstance(k, (conv.Conv2DKernel, conv.DepthwiseConv2DKernel,
                                                                  conv.FullyConnectedKernel))).lower(op, graph)


def test_mve_kernels_only_for_boards_with_mve():
    graph = build(ALL_CASES)
    assert all(lop.notes.get("kernel") == "mve" for lop in _lower_all(graph))
    assert not any(lop.notes.get("kernel") == "mve" for lop in _lower_all(graph, load_board("cortex-m4")))
    assert not any(lower_op(op, graph).notes.get("kernel") == "mve" for op in graph.ops)  # no board: none
    with mve.disabled():
        assert not any(lop.notes.get("kernel") == "mve" for lop in _lower_all(graph))


def test_mve_falls_back():
    """Grouped conv, windows over 1 KB, depth multiplier 2, depthwise channels % 8 != 0, FC filter offsets:
    other kernels."""
    cases = [Case(C2, (1, 6, 6, 4), out_c=6, groups=2), Case(C2, (1, 4, 4, 128)), Case(DW, (1, 7, 6, 3), mult=2),
             Case(DW, (1, 7, 6, 12)), Case(FC, (2, 12), out_c=4, per_channel=False, w_zp=3)]
    assert not any(lop.notes.get("kernel") == "mve" for lop in _lower_all(build(cases)))


def test_mve_reference_matches_portable_reference():
    graph = build(ALL_CASES, seed=3)
    rng = np.random.default_rng(4)
    for op, lop in zip(graph.ops, _lower_all(graph)):
        for fill in (None, -128, 127):
            xs = sample_inputs(graph, rng, fill)
            x = xs[graph.inputs.index(op.inputs[0])]
            assert np.array_equal(_portable(op, graph).reference([x])[0], lop.reference([x])[0]), op.name


def test_requant_record_layout():
    """records(): per 4 channels, biases, multipliers, left shifts, negated right shifts (zero padded)."""
    rq = conv.Requant(np.array([5, 6, 7, 8, 9], np.int32), np.array([2, 0, -3, -31, 1], np.int32), True,
                      0, 0, -128, 127)
    got = mve.records(np.arange(5), rq, 5).reshape(2, 4, 4)
    assert got[0].tolist() == [[0, 1, 2, 3], [5, 6, 7, 8], [2, 0, 0, 0], [0, 0, -3, -31]]
    assert got[1].tolist() == [[4, 0, 0, 0], [9, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]]


def test_row_layout():
    """Window rows of up to 16 bytes go one block each unless that costs more than one extra block."""
    assert mve.row_layout(3, 9) == 16 and mve.row_layout(2, 16) == 16 and mve.row_layout(1, 15) == 16
    assert mve.row_layout(10, 4) == 4 and mve.row_layout(3, 17) == 17 and mve.row_layout(4, 3) == 3


def test_filter_layout():
    """filter_rows(): blocks of 4 rows, 16 values of each row in turn, k and rows zero padded."""
    rows = np.arange(5 * 20).reshape(5, 20).astype(np.int8)
    got = mve.filter_rows(rows).reshape(2, 2, 4, 16)  # block, k16, row, value
    assert np.array_equal(got[0, 0, 1], rows[1, :16]) and np.array_equal(got[0, 1, 3, :4], rows[3, 16:])
    assert not got[0, 1, :, 4:].any() and not got[1, :, 1:].any() and np.array_equal(got[1, 1, 0, :4], rows[4, 16:])


def test_rgb_kernel_takes_narrow_windows_and_declines_the_rest():
    """tg_conv2d_s8_mve_rgb for every RGB case; MveConv2D (gathered windows) for dilation_w > 1, 4 window rows,
    rows over 16 bytes and 1x1 filters."""
    assert {lop.c_function for lop in _lower_all(build(RGB_CASES))} == {"tg_conv2d_s8_mve_rgb"}
    others = [Case(C2, (1, 9, 7, 3), dilation=(1, 2)), Case(C2, (1, 9, 7, 3), kernel=(4, 3)),
              Case(C2, (1, 6, 6, 6)), Case(C2, (1, 5, 5, 3), kernel=(1, 1), stride=(2, 2), same=False)]
    assert {lop.c_function for lop in _lower_all(build(others))} == {"tg_conv2d_s8_mve"}
    assert not any(lop.c_function == "tg_conv2d_s8_mve_rgb"
                   for lop in _lower_all(build([Case(C2, (1, 6, 6, 4), out_c=6, groups=2)])))


def _left_shift_graph():
    """Two RGB-kernel layers whose multipliers reach past 1 on some channels (positive shifts: the left-shift
    step runs) and stay under it on others: one weight of +-1 per channel, no bias, effective scales from 0.4
    to 2.5 (most outputs inside int8)."""
    from tinygen.ir import QuantParams

    graph = build([Case(C2, (1, 9, 10, 3), out_c=7, stride=(2, 2), zp_in=-3, zp_out=0),
                   Case(C2, (1, 6, 7, 3), out_c=6, zp_in=5, zp_out=-20, act=Activation.RELU)], seed=41)
    rng = np.random.default_rng(42)
    for op in graph.ops:
        x, w, y = (graph.tensors[t] for t in (op.inputs[0], op.inputs[1], op.outputs[0]))
        data = np.zeros(w.shape, np.int8).reshape(w.shape[0], -1)
        for c in range(data.shape[0]):
            data[c, rng.integers(0, data.shape[1])] = rng.choice([-1, 1])
        w.data = data.reshape(w.shape)
        if len(op.inputs) > 2 and op.inputs[2] is not None:
            graph.tensors[op.inputs[2]].data = np.zeros(w.shape[0], np.int32)
        scales = np.geomspace(0.4, 2.5, w.shape[0])
        w.quant = QuantParams.make(scales * 0.01, [0] * w.shape[0], 0)
        y.quant = QuantParams.make([x.scale * 0.01], [y.quant.zero_point[0]], y.quant.axis)
    return graph


def test_rgb_kernel_runs_the_left_shift_step():
    from tinygen.lower.csig import args_by_name

    graph = _left_shift_graph()
    for lop in _lower_all(graph):
        a = args_by_name(lop)
        assert lop.c_function == "tg_conv2d_s8_mve_rgb" and a["left_shift"].value == 1, lop.op.name
        shifts = lop.const_arrays[1].data.reshape(-1, 4, 4)[:, 2:].sum(axis=1).reshape(-1)
        assert shifts.max() > 0 and shifts.min() < 0, lop.op.name  # left on some channels, right on others
    rng = np.random.default_rng(43)
    for op, lop in zip(graph.ops, _lower_all(graph)):
        x = sample_inputs(graph, rng)[graph.inputs.index(op.inputs[0])]
        want = _portable(op, graph).reference([x])[0]
        assert np.array_equal(want, lop.reference([x])[0]), op.name
        assert np.mean((want > -128) & (want < 127)) > 0.4, op.name  # not all clamped


def _add_graphs():
    from test_kernels_fast import _add_graphs as fast_add_graphs

    return fast_add_graphs()


def test_mve_c_on_host_matches_reference():
    """The plain-C path of runtime_c/mve on the host, built from the MVE lowering, vs the portable reference."""
    from tinygen.verify.testing import run_c, run_reference

    graphs = [build(ALL_CASES, seed=7), _left_shift_graph()] + _add_graphs()
    rng = np.random.default_rng(8)
    for graph in graphs:
        for fill in (None, -128, 127):
            xs = sample_inputs(graph, rng, fill)
            want = run_reference(graph, xs)
            with mve.for_board(M55):
                assert any(lop.notes.get("kernel") == "mve" for lop in _lower_all(graph))
                got = run_c(graph, xs)
            for i, (w, g) in enumerate(zip(want, got)):
                assert np.array_equal(w.reshape(-1), g.reshape(-1)), f"{graph.name} output {i} fill={fill}"


def _need_tools():
    missing = [t for t in ("arm-none-eabi-gcc", "qemu-system-arm") if shutil.which(t) is None]
    if missing:
        pytest.fail(f"missing tools {missing}: run `make sysdeps`")


@pytest.mark.qemu
def test_mve_kernels_under_qemu_match_reference(tmp_path):
    """Every case on QEMU mps3-an547 (the MVE code) equals the portable kernels' TFLM-exact reference."""
    import tinygen
    from tinygen.verify.testing import run_reference

    _need_tools()
    graphs = [build(ALL_CASES, seed=11), _left_shift_graph()] + _add_graphs()
    rng = np.random.default_rng(12)
    for i, graph in enumerate(graphs):
        out = tmp_path / f"g{i}"
        r = tinygen.compile(graph, out, board="cortex-m55")
        assert any("_mve" in layer["kernel"] for layer in r.report["layers"]), i
        samples = [sample_inputs(graph, rng, fill) for fill in (None, None, -128, 127)]
        join = [np.concatenate if graph.tensors[t].shape[0] == 1 else np.stack for t in graph.inputs]
        batch = [join[j]([s[j] for s in samples]) for j in range(len(graph.inputs))]
        got = tinygen.run(out, batch, target="qemu")
        for n, xs in enumerate(samples):
            want = run_reference(graph, xs)
            for j, w in enumerate(want):
                assert np.array_equal(w.reshape(-1), got[j][n].reshape(-1)), f"graph {i} sample {n} output {j}"


@pytest.mark.qemu
@pytest.mark.parametrize("key", ["ad", "kws", "vww"])
def test_mlperf_models_on_m55_match_tflm(key, models_dir, tmp_path):
    import tinygen

    _need_tools()
    path = models_dir / {"kws": "mlperf/kws/kws_ref_model.tflite", "ad": "mlperf/ad/ad01_int8.tflite",
                         "vww": "mlperf/vww/vww_96_int8.tflite"}[key]
    r = tinygen.compile(str(path), tmp_path / key, board="cortex-m55")
    assert any("_mve" in layer["kernel"] for layer in r.report["layers"])
    assert key != "vww" or r.report["layers"][0]["kernel"] == "tg_conv2d_s8_mve_rgb"
    shape = tuple(r.report["inputs"][0]["shape"])
    rng = np.random.default_rng(5)
    xs = [rng.integers(-128, 128, size=shape, dtype=np.int8), np.full(shape, -128, np.int8)]
    got = tinygen.run(tmp_path / key, [np.concatenate(xs)], target="qemu")[0]
    for n, x in enumerate(xs):
        assert np.array_equal(tflm_run(path, [x])[0].reshape(-1), got[n].reshape(-1)), (key, n)
