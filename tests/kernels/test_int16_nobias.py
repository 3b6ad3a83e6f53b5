"""16x8 FULLY_CONNECTED / CONV_2D / DEPTHWISE_CONV_2D / TRANSPOSE_CONV with and without a bias, against TFLM.

TFLM runs a 16x8 op whose bias is absent on its int64-accumulator path, as with an int64 bias, and that is
what tinygen's s16 kernels compute. The bug these tests pin: the exporter gave a bias-less op an all-zero
int32 bias, and an int32 bias sends TFLM's 16x8 CONV_2D and FULLY_CONNECTED to their int32-accumulator
variant (int32 MultiplyByQuantizedMultiplier: one output step off) and makes DEPTHWISE_CONV_2D read the
int32 buffer as int64 (garbage). The exporter now writes an int64 zero bias for int16 input.

Plan: Keras layers built with int16 activations, each with and without a (random, non-zero) bias: Dense on
2-D and 3-D input and with a fused RELU, Conv1D, strided SAME Conv2D, grouped Conv2D, DepthwiseConv2D with
depth multiplier 2, SeparableConv2D and Conv2DTranspose (phase convolutions); the generated C and the NumPy
reference equal TFLM on the exported .tflite byte for byte, on calibration-like samples, full-range random
samples, all-min and all-max. Then .tflite files whose bias operand is absent, either as index -1 or with
the input list cut short: FULLY_CONNECTED, CONV_2D and DEPTHWISE_CONV_2D from the exporter, TRANSPOSE_CONV
from the shared 16x8 models; tinygen loads them without a bias and its C equals TFLM on the same file.
(TFLM's DEPTHWISE_CONV_2D crashes on a 16x8 bias index of -1, so that file is checked against TFLM on its
cut-list twin, the same model.)
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tinygen.compiler import load_model, lower, quantize
from tinygen.verify.export_tflite import to_bytes
from tinygen.verify.testing import host_model_for, run_reference

TCONV_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "models" / "tflm" / "int16_ops" / "transpose_conv"


def _layer(kind: str, use_bias: bool):
    """(Keras layer, input shape without batch) for one case."""
    import keras

    L = keras.layers
    b = dict(use_bias=use_bias, bias_initializer="random_normal")
    return {
        "dense": (lambda: L.Dense(6, **b), (12,)),
        "dense_3d": (lambda: L.Dense(6, **b), (7, 4)),
        "dense_relu": (lambda: L.Dense(5, activation="relu", **b), (9,)),
        "conv1d": (lambda: L.Conv1D(5, 3, **b), (9, 4)),
        "conv2d": (lambda: L.Conv2D(5, 3, strides=2, padding="same", **b), (7, 6, 3)),
        "conv2d_groups": (lambda: L.Conv2D(6, 3, groups=2, **b), (6, 6, 4)),
        "depthwise": (lambda: L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", **b), (6, 5, 3)),
        "separable": (lambda: L.SeparableConv2D(4, 3, **b), (6, 6, 3)),
        "conv2d_transpose": (lambda: L.Conv2DTranspose(3, 3, strides=2, padding="same", **b), (4, 5, 2)),
    }[kind]


KINDS = ("dense", "dense_3d", "dense_relu", "conv1d", "conv2d", "conv2d_groups", "depthwise", "separable",
         "conv2d_transpose")


def _keras_16x8(kind: str, use_bias: bool):
    """(16x8 graph, float calibration samples) of a one-layer Keras model."""
    import keras

    keras.utils.set_random_seed(7)
    make, shape = _layer(kind, use_bias)
    x = keras.Input(shape)
    model = keras.Model(x, make()(x))
    calib = (np.random.default_rng(0).standard_normal((32,) + shape) * 2).astype(np.float32)
    return quantize(load_model(model), calib, activations="int16"), calib


def _samples(graph, calib) -> list:
    """Calibration-like samples (where rounding, not saturation, decides), full-range random ones, all-min and
    all-max, as int16 input lists."""
    t = graph.tensors[graph.inputs[0]]
    rng = np.random.default_rng(11)
    xs = [np.clip(np.round(s / t.scale), -32768, 32767) for s in calib[:4]]
    xs += [rng.integers(-32768, 32768, size=t.shape[1:]) for _ in range(2)]
    xs += [np.full(t.shape[1:], v) for v in (-32768, 32767)]
    return [[np.asarray(x, np.int16).reshape(t.shape)] for x in xs]


def _tflm(data: bytes):
    from tflite_micro.python.tflite_micro import runtime

    return runtime.Interpreter.from_bytes(data, arena_size=len(data) * 10 + (1 << 20))


def _check(graph, data: bytes, samples: list, reference: bool = True) -> None:
    """C (and the NumPy reference) == TFLM running `data`, byte for byte, on every sample."""
    interp = _tflm(data)
    model = host_model_for(graph)
    lowered = lower(graph) if reference else None
    for k, xs in enumerate(samples):
        for i, x in enumerate(xs):
            interp.set_input(x, i)
        interp.invoke()
        want = np.array(interp.get_output(0))
        got = np.asarray(model(xs)[0]).reshape(want.shape)
        assert got.dtype == want.dtype == np.int16
        diff = int(np.abs(got.astype(np.int64) - want.astype(np.int64)).max())
        assert got.tobytes() == want.tobytes(), f"sample {k}: max |C - TFLM| = {diff}"
        if reference:
            ref = np.asarray(run_reference(graph, xs, lowered)[0]).reshape(want.shape)
            assert ref.tobytes() == want.tobytes(), f"sample {k}: reference differs from TFLM"


def _weighted_ops(data: bytes) -> list:
    """[(builtin name, operator, bias slot)] of the FC / CONV_2D / DEPTHWISE_CONV_2D / TRANSPOSE_CONV ops."""
    import tflite

    model = tflite.Model.GetRootAsModel(data, 0)
    sg = model.Subgraphs(0)
    slots = {tflite.BuiltinOperator.FULLY_CONNECTED: ("FULLY_CONNECTED", 2),
             tflite.BuiltinOperator.CONV_2D: ("CONV_2D", 2),
             tflite.BuiltinOperator.DEPTHWISE_CONV_2D: ("DEPTHWISE_CONV_2D", 2),
             tflite.BuiltinOperator.TRANSPOSE_CONV: ("TRANSPOSE_CONV", 3)}
    out = []
    for i in range(sg.OperatorsLength()):
        op = sg.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if builtin in slots:
            out.append(slots[builtin] + (op,))
    return out


def _without_bias(data: bytes, how: str) -> bytes:
    """`data` with every weighted op's bias operand removed: index -1 (`how` "minus1") or the input list one
    shorter ("cut"). Flatbuffer vectors are length-prefixed int32s, so both are in-place edits."""
    buf = bytearray(data)
    for name, slot, op in _weighted_ops(data):
        off = op._tab.Offset(6)  # Operator.inputs
        start, n = op._tab.Vector(off), op._tab.VectorLen(off)
        assert n == slot + 1, (name, n)
        if how == "minus1":
            buf[start + 4 * slot:start + 4 * slot + 4] = np.int32(-1).astype("<i4").tobytes()
        else:
            buf[start - 4:start] = np.uint32(slot).astype("<u4").tobytes()
    return bytes(buf)


def _bias_types(data: bytes) -> list:
    import tflite

    sg = tflite.Model.GetRootAsModel(data, 0).Subgraphs(0)
    return [(name, sg.Tensors(int(op.InputsAsNumpy()[slot])).Type()) for name, slot, op in _weighted_ops(data)]


# ---- Keras-built 16x8 models, exported for TFLM ------------------------------------------------------------


@pytest.mark.parametrize("use_bias", [False, True], ids=["nobias", "bias"])
@pytest.mark.parametrize("kind", KINDS)
def test_keras_16x8_equals_tflm(kind, use_bias):
    graph, calib = _keras_16x8(kind, use_bias)
    has_bias = [len(op.inputs) > 2 and op.inputs[2] is not None for op in graph.ops
                if op.kind.value in ("FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D")]
    # Conv2DTranspose's phase convolutions always carry a bias (zeros without use_bias, frontend/keras_deconv.py)
    assert has_bias and (any(has_bias) if use_bias or kind == "conv2d_transpose" else not any(has_bias)), has_bias
    _check(graph, to_bytes(graph), _samples(graph, calib))


def test_exported_16x8_bias_is_int64():
    """Every bias of an exported 16x8 weighted op, the graph's own or the zero one added for a bias-less
    op, is int64: an int32 one selects TFLM's int32-accumulator variant."""
    import tflite

    for kind in ("dense", "conv2d", "depthwise", "separable"):
        for use_bias in (False, True):
            graph, _ = _keras_16x8(kind, use_bias)
            types = _bias_types(to_bytes(graph))
            assert types and all(t == tflite.TensorType.INT64 for _, t in types), (kind, use_bias, types)


def test_exported_int8_zero_bias_stays_int32():
    """The int8 export is unchanged: a bias-less int8 op gets an int32 zero bias."""
    import keras
    import tflite

    keras.utils.set_random_seed(3)
    x = keras.Input((6, 6, 3))
    model = keras.Model(x, keras.layers.Conv2D(4, 3, use_bias=False)(x))
    calib = np.random.default_rng(0).standard_normal((16, 6, 6, 3)).astype(np.float32)
    graph = quantize(load_model(model), calib)
    assert _bias_types(to_bytes(graph)) == [("CONV_2D", tflite.TensorType.INT32)]


# ---- .tflite files without a bias tensor ---------------------------------------------------------------------


@pytest.mark.parametrize("how", ["minus1", "cut"])
@pytest.mark.parametrize("kind", ["dense_3d", "conv2d", "depthwise"])
def test_tflite_without_bias_equals_tflm(kind, how, tmp_path):
    graph, calib = _keras_16x8(kind, False)
    path = tmp_path / f"{kind}_{how}.tflite"
    path.write_bytes(_without_bias(to_bytes(graph), how))
    loaded = load_model(str(path))
    weighted = [op for op in loaded.ops if op.kind.value in ("FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D")]
    assert len(weighted) == 1 and weighted[0].inputs[2:] in ([], [None])
    oracle = path.read_bytes()
    if kind == "depthwise" and how == "minus1":
        oracle = _without_bias(to_bytes(graph), "cut")  # TFLM's 16x8 depthwise Prepare crashes on index -1
    _check(loaded, oracle, _samples(loaded, calib))


@pytest.mark.parametrize("how", ["minus1", "cut"])
@pytest.mark.parametrize("stem", ["transpose_conv0", "transpose_conv2", "transpose_conv4"])
def test_tflite_transpose_conv_without_bias_equals_tflm(stem, how, models_dir, tmp_path):
    data = _without_bias((TCONV_DIR / f"{stem}.tflite").read_bytes(), how)
    path = tmp_path / f"{stem}_{how}.tflite"
    path.write_bytes(data)
    graph = load_model(str(path))
    (op,) = [op for op in graph.ops if op.kind.value == "TRANSPOSE_CONV"]
    assert op.inputs[2:] in ([], [None])
    out_shape = np.loadtxt(TCONV_DIR / f"{stem}_input0_int32.csv", delimiter=",", dtype=np.int32, ndmin=1)
    t = graph.tensors[graph.inputs[1]]
    rng = np.random.default_rng(5)
    samples = [[out_shape, rng.integers(-32768, 32768, size=t.shape).astype(np.int16)] for _ in range(3)]
    samples += [[out_shape, np.full(t.shape, v, np.int16)] for v in (-32768, 32767)]
    _check(graph, data, samples)
