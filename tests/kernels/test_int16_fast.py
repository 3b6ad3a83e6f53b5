"""The fast 16x8 CONV_2D / DEPTHWISE_CONV_2D (tinygen/lower/int16_fast.py, runtime_c/include/tg_s16_fast.h):
the 32-bit output step equals TFLM's int64 requantization wherever the lowering takes it, the bounds that
send a layer back to the general kernels, and layers at the int32 accumulator limit equal to TFLM on both
host kernel paths (portable and the emulated device path) and as Cortex-M4 firmware under QEMU.
"""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from test_int16_dsp import _samples, _tflm
from tinygen.compiler import load_model, lower, quantize
from tinygen.lower.int16 import Requant16, mbqm_int64
from tinygen.lower.int16_fast import fast_tail, pack_s16_rows
from tinygen.verify.export_tflite import to_bytes
from tinygen.verify.testing import host_model_for


def _rq(mult, shift) -> Requant16:
    return Requant16(np.asarray(mult, np.int32), np.asarray(shift, np.int32), -32768, 32767, True)


def test_output_step_equals_int64_requantization():
    """high word of acc * red + bias == mbqm_int64(acc + b) for every multiplier the lowering accepts,
    at the accumulator's extremes and on random values."""
    rng = np.random.default_rng(0)
    shifts = np.arange(-17, 15)
    mults = np.concatenate([[1 << 30, (1 << 31) - 1, 0x7FFF7FFF, 0x7FFF8000], rng.integers(1 << 30, 1 << 31, 8)])
    accs = np.concatenate([[-(1 << 31) + 1, (1 << 31) - 1, 0, -1, 1], rng.integers(-(1 << 31), 1 << 31, 200)])
    checked = 0
    for m in mults:
        for s in shifts:
            for b in (0, -(1 << 40), (1 << 40) + 12345, int(rng.integers(-(1 << 34), 1 << 34))):
                tail = fast_tail(_rq([m], [s]), [b], np.zeros((1, 4), np.int8))
                if tail is None:
                    continue
                red, bias = int(tail[0][0]), int(tail[1][0])
                got = [((int(a) * red + bias) >> 32) for a in accs]
                got = (np.asarray(got, np.int64) + (1 << 31)) % (1 << 32) - (1 << 31)  # the int32 cast
                want = mbqm_int64(accs.astype(np.int64) + b, m, s)
                assert np.array_equal(got, want), (m, s, b)
                checked += 1
    assert checked > 500


def test_bounds_send_layers_to_the_general_kernels():
    ok = np.zeros((1, 4), np.int8)
    assert fast_tail(_rq([1 << 30], [-1]), None, ok) is not None
    assert fast_tail(_rq([1 << 30], [0]), None, ok) is None  # red = 2^14 << 17 reaches 2^31
    assert fast_tail(_rq([1 << 30], [-17]), None, ok) is not None  # ts = 32
    assert fast_tail(_rq([1 << 30], [-18]), None, ok) is None  # ts = 33
    assert fast_tail(_rq([1 << 30], [-1]), [1 << 47], ok) is None  # bias * reduced << 16 reaches 2^62
    assert fast_tail(_rq([1 << 30], [-1]), None, np.full((1, 511), -128, np.int8)) is not None  # 2^31 - 2^22
    assert fast_tail(_rq([1 << 30], [-1]), None, np.full((1, 512), -128, np.int8)) is None  # 2^31


def test_packed_rows_layout():
    rows = np.arange(2 * 6, dtype=np.int8).reshape(2, 6) - 5
    words = pack_s16_rows(rows).view(np.uint8).reshape(2, 4, 4)  # groups, rows of the block, bytes
    u = rows.view(np.uint8)
    assert words[0, 0].tolist() == [u[0, 0], u[0, 2], u[0, 1], u[0, 3]]
    assert words[1, 1].tolist() == [u[1, 4], 0, u[1, 5], 0]
    assert not words[:, 2:].any()  # rows padded to a block of four


def _extreme(kind: str):
    """A 16x8 layer whose filter rows sit at the int32 accumulator bound (511 or 512 weights of -128 or
    127 against inputs of -32768 / 32767), and its int16 inputs."""
    import keras

    keras.utils.set_random_seed(4)
    depth = {"conv511": 511, "conv512": 512, "conv_odd": 13}[kind]
    x = keras.Input((2, 2, depth))
    layer = keras.layers.Conv2D(5, 1, padding="same")
    model = keras.Model(x, layer(x))
    rng = np.random.default_rng(2)
    calib = (rng.standard_normal((16, 2, 2, depth)) * 0.05).astype(np.float32)
    graph = quantize(load_model(model), calib, activations="int16")
    conv = next(op for op in graph.ops if op.kind.value == "CONV_2D")
    w = graph.tensors[conv.inputs[1]]
    data = np.asarray(w.data, np.int8).copy()
    data[0], data[1], data[2] = -128, 127, np.where(np.arange(depth) % 2, -128, 127)
    w.data = data
    return graph, calib


@pytest.mark.parametrize("kind,fast", (("conv511", True), ("conv512", False), ("conv_odd", True)))
def test_accumulator_limit_equals_tflm(kind, fast):
    graph, calib = _extreme(kind)
    fns = {lop.c_function for lop in lower(graph)}
    assert ("tg_conv2d_s16_fast" in fns) == fast, fns
    t = graph.tensors[graph.inputs[0]]
    samples = _samples(graph, calib) + [[np.asarray(np.where(np.arange(t.shape[-1]) % 2, -32768, 32767)
                                                    * np.ones(t.shape), np.int16)]]
    interp = _tflm(to_bytes(graph))
    for path in ("portable", "device"):
        model = host_model_for(graph, kernel_path=path)
        for k, xs in enumerate(samples):
            interp.set_input(xs[0], 0)
            interp.invoke()
            want = np.array(interp.get_output(0))
            assert np.asarray(model(xs)[0]).reshape(want.shape).tobytes() == want.tobytes(), (path, k)


def test_accumulator_limit_under_qemu_equals_tflm(tmp_path):
    """The SMLAD loop and SMLAL output step as Cortex-M4 firmware at the accumulator limit == TFLM."""
    import tinygen
    from tinygen.verify import qemu

    if shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None:
        pytest.fail("qemu-system-arm and arm-none-eabi-gcc are needed")
    graph, calib = _extreme("conv511")
    data = to_bytes(graph)
    path = tmp_path / "conv511.tflite"
    path.write_bytes(data)
    samples = _samples(graph, calib)
    tinygen.compile(str(path), tmp_path / "out", board="cortex-m4")
    got = qemu.run_qemu(tmp_path / "out", [np.stack([s[0][0] for s in samples])])[0]
    interp = _tflm(data)
    for k, xs in enumerate(samples):
        interp.set_input(xs[0], 0)
        interp.invoke()
        want = np.array(interp.get_output(0))
        assert got[k].reshape(want.shape).tobytes() == want.tobytes(), k


def _mulhr(a, b):
    return (np.asarray(a, np.int64) * np.int64(b) + (1 << 31)) >> 32


def _rdbpot_fast(y, e):
    half = (1 << (e - 1)) if e > 0 else 0
    return (y + half - ((y < 0) & (e > 0))) >> e


def test_add_rescale_identities_over_every_int16():
    """tg_add_s16_fast.h: rdbpot(srdhm(q << 15, m), e) == the SMMULR form for every int16 q, and
    srdhm(raw, m) == mulhr(2 * raw, m) over [-2^30, 2^30), against qmath's TFLM functions."""
    from tinygen.quant import qmath

    rng = np.random.default_rng(7)
    q = np.arange(-32768, 32768, dtype=np.int64)
    raws = np.concatenate([[-(1 << 30), (1 << 30) - 1, -1, 0, 1], rng.integers(-(1 << 30), 1 << 30, 60000)])
    for real in (0.5, 0.4999, 0.25, 0.013, 3.1e-5, 1.7e-7, *rng.uniform(1e-6, 0.5, 6)):
        m, s = qmath.quantize_multiplier(float(real))
        if -s > 29:
            continue
        want = qmath.multiply_by_quantized_multiplier(q << 15, m, s)
        assert np.array_equal(_rdbpot_fast(_mulhr(q << 16, m), -s), want), real
        want = qmath.multiply_by_quantized_multiplier(raws, m, s)
        assert np.array_equal(_rdbpot_fast(_mulhr(raws * 2, m), -s), want), real


def _add_graph(kind: str, scales: tuple):
    """A 16x8 graph of one ADD or SUB of two same-shape inputs (their calibration ranges set by scales)."""
    import keras

    a, b = keras.Input((6, 5, 4)), keras.Input((6, 5, 4))
    y = (keras.layers.Add() if kind == "add" else keras.layers.Subtract())([a, b])
    model = keras.Model([a, b], y)
    rng = np.random.default_rng(3)
    calib = [(rng.standard_normal((16, 6, 5, 4)) * s).astype(np.float32) for s in scales]
    return quantize(load_model(model), calib, activations="int16")


def _add_samples(graph) -> list:
    rng = np.random.default_rng(9)
    shape = graph.tensors[graph.inputs[0]].shape
    out = [[rng.integers(-32768, 32768, size=shape).astype(np.int16) for _ in range(2)] for _ in range(3)]
    for v1, v2 in ((-32768, -32768), (32767, 32767), (-32768, 32767), (32767, -32768)):
        out.append([np.full(shape, v1, np.int16), np.full(shape, v2, np.int16)])
    return out


def _tflm_outputs(graph, samples) -> list:
    interp = _tflm(to_bytes(graph))
    want = []
    for xs in samples:
        for i, x in enumerate(xs):
            interp.set_input(x, i)
        interp.invoke()
        want.append(np.array(interp.get_output(0)))
    return want


@pytest.mark.parametrize("kind,scales", (("add", (1.0, 1.0)), ("add", (3.0, 0.2)), ("sub", (1.0, 1.0)),
                                         ("sub", (0.1, 2.0))))
def test_add_fast_equals_tflm(kind, scales):
    graph = _add_graph(kind, scales)
    assert [lop.c_function for lop in lower(graph)] == ["tg_add_s16_fast"]
    samples = _add_samples(graph)
    want = _tflm_outputs(graph, samples)
    for path in ("portable", "device"):
        model = host_model_for(graph, kernel_path=path)
        for k, xs in enumerate(samples):
            got = np.asarray(model(xs)[0]).reshape(want[k].shape)
            assert got.tobytes() == want[k].tobytes(), (path, k)


def test_add_fast_under_qemu_equals_tflm(tmp_path):
    """SMMULR as Cortex-M4 firmware == TFLM (ADD with unequal scales, full-range and extreme inputs)."""
    import tinygen
    from tinygen.verify import qemu

    if shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None:
        pytest.fail("qemu-system-arm and arm-none-eabi-gcc are needed")
    graph = _add_graph("add", (3.0, 0.2))
    path = tmp_path / "add.tflite"
    path.write_bytes(to_bytes(graph))
    samples = _add_samples(graph)
    tinygen.compile(str(path), tmp_path / "out", board="cortex-m4")
    got = qemu.run_qemu(tmp_path / "out", [np.stack([s[0] for s in samples]), np.stack([s[1] for s in samples])])[0]
    for k, want in enumerate(_tflm_outputs(graph, samples)):
        assert got[k].reshape(want.shape).tobytes() == want.tobytes(), k
