"""16x8 (int16 activations, int8 weights, int64 biases) end to end.

(a) Keras models converted by TF's converter in 16x8 mode build with tinygen, and the generated C and
    the NumPy reference are byte-identical to TFLM's interpreter on random int16 inputs.
(b) tinygen's own int16 PTQ (ptq.quantize(..., activations="int16")) of the digits CNN: the C equals
    the reference, and it agrees with the float model at least as well as int8 PTQ does.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import keras

from oracle import MODELS, tflm_run  # noqa: E402
from tfconvert import convert  # noqa: E402
from tinygen import passes  # noqa: E402
from tinygen.quant import float_ref  # noqa: E402
from tinygen.compiler import load_model  # noqa: E402
from tinygen.frontend.keras import load_keras  # noqa: E402
from tinygen.ir import OpKind  # noqa: E402
from tinygen.quant import ptq  # noqa: E402
from tinygen.verify.testing import host_model_for, run_reference  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
L = keras.layers
SAMPLES = 10


def _random_biases(model, seed: int = 0) -> None:
    """Untrained layers have zero biases, which the converter drops: give them real ones."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        ws = layer.get_weights()
        if len(ws) >= 2 and ws[1].ndim == 1:
            ws[1] = rng.normal(0, 0.3, ws[1].shape).astype(np.float32)
            layer.set_weights(ws)


def _cnn():
    inp = keras.Input((12, 12, 2))
    x = L.Conv2D(6, 3, padding="same", activation="relu")(inp)
    x = L.DepthwiseConv2D(3, padding="same", depth_multiplier=2, activation="relu6")(x)
    x = L.MaxPooling2D(2)(x)
    x = L.DepthwiseConv2D(3, strides=2, padding="valid", use_bias=False)(x)
    x = L.AveragePooling2D(2, padding="same")(x)
    x = L.Flatten()(x)
    x = L.Dense(7)(x)
    return keras.Model(inp, L.Softmax()(x))


def _mlp():
    inp = keras.Input((12,))
    x = L.Dense(16, activation="tanh")(inp)
    x = L.Dense(16, activation="sigmoid")(x)
    x = L.Dense(8, activation="relu")(x)
    x = L.Dense(5, use_bias=False)(x)
    return keras.Model(inp, x)


def _concat_mul():
    inp = keras.Input((16,))
    a = L.Dense(8, activation="tanh")(inp)
    b = L.Dense(8, activation="tanh")(inp)
    c = L.Concatenate()([a, b])
    d = L.Multiply()([c, L.Dense(16, activation="tanh")(inp)])
    return keras.Model(inp, L.Dense(4)(d))


def _mean():
    inp = keras.Input((6, 6, 3))
    x = L.DepthwiseConv2D(3, padding="same", depth_multiplier=3)(inp)
    x = L.GlobalAveragePooling2D()(x)
    return keras.Model(inp, L.Dense(4)(x))


SMALL = {"cnn": _cnn, "mlp": _mlp, "concat_mul": _concat_mul, "mean": _mean}
# the ops of int16_nn.py and int16_act.py each model must exercise (so a test cannot pass without covering them)
EXPECT = {
    "cnn": {OpKind.DEPTHWISE_CONV_2D, OpKind.MAX_POOL_2D, OpKind.AVERAGE_POOL_2D, OpKind.FULLY_CONNECTED,
            OpKind.SOFTMAX},
    "mlp": {OpKind.FULLY_CONNECTED, OpKind.TANH, OpKind.LOGISTIC},
    "concat_mul": {OpKind.CONCATENATION, OpKind.MUL, OpKind.TANH},
    "mean": {OpKind.MEAN, OpKind.DEPTHWISE_CONV_2D},
    "digits": {OpKind.DEPTHWISE_CONV_2D, OpKind.MAX_POOL_2D, OpKind.MEAN, OpKind.FULLY_CONNECTED,
               OpKind.SOFTMAX},
    "kws": {OpKind.DEPTHWISE_CONV_2D, OpKind.AVERAGE_POOL_2D, OpKind.FULLY_CONNECTED, OpKind.SOFTMAX},
}


def _kws_calibration(n: int = 100) -> np.ndarray:
    """MFCC-like inputs spanning the float range the int8 KWS model's input quantization covers."""
    rng = np.random.default_rng(0)
    return ((rng.integers(-128, 128, size=(n, 49, 10, 1)) - 83) * 0.5847).astype(np.float32)


@pytest.fixture(scope="module", params=sorted(SMALL) + ["digits", "kws"])
def converted(request, tmp_path_factory):
    key = request.param
    if key == "digits":
        model = keras.models.load_model(ROOT / "examples/digits_cnn.keras", compile=False)
        calib = np.load(ROOT / "examples/digits_calib.npy")
    elif key == "kws":
        path = MODELS / "mlperf/kws/kws_ref_model_rebuilt.keras"
        if not path.is_file():
            pytest.skip("../shared/models is not available")
        model = keras.models.load_model(path, compile=False)
        calib = _kws_calibration()
    else:
        keras.utils.set_random_seed(0)
        model = SMALL[key]()
        _random_biases(model)
        calib = np.random.default_rng(1).standard_normal((64,) + tuple(model.input_shape[1:])).astype(np.float32)
    data = convert(model, calib, mode="int16")
    path = tmp_path_factory.mktemp(key) / f"{key}_16x8.tflite"
    path.write_bytes(data)
    return key, data, load_model(str(path)), calib


def _inputs(graph, calib, n: int, seed: int = 0) -> list:
    """Half full-range random int16, half calibration samples quantized with the input's scale."""
    t = graph.tensors[graph.inputs[0]]
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        if i % 2:
            out.append(rng.integers(-32768, 32768, size=t.shape).astype(np.int16))
        else:
            v = np.asarray(calib[i % len(calib)], np.float32).reshape(t.shape) / np.float32(t.scale)
            out.append(np.clip(np.sign(v) * np.floor(np.abs(v) + 0.5), -32768, 32767).astype(np.int16))
    return out


def test_converted_16x8_byte_identical_with_tflm(converted):
    key, data, graph, calib = converted
    kinds = {op.kind for op in graph.ops}
    assert EXPECT[key] <= kinds, f"{key}: converter produced {sorted(k.value for k in kinds)}"
    assert graph.tensors[graph.inputs[0]].dtype == "int16"
    c_model = host_model_for(graph)
    for i, x in enumerate(_inputs(graph, calib, SAMPLES)):
        want = tflm_run(data, [x])
        got_c, got_ref = c_model([x]), run_reference(graph, [x])
        for w, c, r in zip(want, got_c, got_ref):
            assert w.dtype == np.int16
            np.testing.assert_array_equal(np.asarray(c).reshape(w.shape), w, err_msg=f"{key} C, sample {i}")
            np.testing.assert_array_equal(np.asarray(r).reshape(w.shape), w, err_msg=f"{key} ref, sample {i}")


# ---- (b) tinygen's own int16 PTQ ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits_ptq():
    import sys

    sys.path.insert(0, str(ROOT / "examples"))
    from digits_data import load_digits_split

    _, _, x_test, y_test = load_digits_split()
    fgraph = passes.optimize(load_keras(str(ROOT / "examples/digits_cnn.keras")))
    calib = np.load(ROOT / "examples/digits_calib.npy")
    q8 = ptq.quantize(fgraph, calib)
    q16 = ptq.quantize(fgraph, calib, activations="int16")
    return fgraph, q8, q16, x_test, y_test


def _quantize_input(graph, x: np.ndarray) -> np.ndarray:
    t = graph.tensors[graph.inputs[0]]
    info = np.iinfo(t.dtype)
    v = x / np.float32(t.scale)
    v = np.sign(v) * np.floor(np.abs(v) + 0.5) + t.zero_point
    return np.clip(v, info.min, info.max).astype(t.dtype).reshape(t.shape)


def _dequantized_outputs(graph, xs: np.ndarray) -> np.ndarray:
    t = graph.tensors[graph.outputs[0]]
    outs = [run_reference(graph, [_quantize_input(graph, x)])[0] for x in xs]
    return (np.stack(outs).astype(np.float64) - t.zero_point) * t.scale


def test_int16_ptq_follows_16x8_spec(digits_ptq):
    _, _, q16, _, _ = digits_ptq
    for op in q16.ops:
        for name in [t for t in op.inputs if t is not None] + op.outputs:
            t = q16.tensors[name]
            if t.is_const and op.kind in ptq._WEIGHT_AXIS and name == op.inputs[1]:
                assert t.dtype == "int8" and all(z == 0 for z in t.quant.zero_point)
            elif t.is_const and len(op.inputs) > 2 and name == op.inputs[2]:
                assert t.dtype == "int64"
            elif not t.is_const:
                assert t.dtype == "int16" and t.zero_point == 0, name
        if op.kind == OpKind.SOFTMAX:
            assert q16.tensors[op.outputs[0]].scale == pytest.approx(1 / 32768)


def test_int16_ptq_c_equals_reference(digits_ptq):
    _, _, q16, x_test, _ = digits_ptq
    c_model = host_model_for(q16)
    for x in x_test[:20]:
        xq = _quantize_input(q16, x)
        np.testing.assert_array_equal(np.asarray(c_model([xq])[0]), np.asarray(run_reference(q16, [xq])[0]))


def test_int16_ptq_at_least_as_good_as_int8(digits_ptq):
    fgraph, q8, q16, x_test, y_test = digits_ptq
    want = np.concatenate([float_ref.run_batch(fgraph, [x_test[i:i + 64]])[0] for i in range(0, len(x_test), 64)])
    want = want.reshape(len(x_test), -1)
    figures = {}
    for name, g in (("int8", q8), ("int16", q16)):
        got = _dequantized_outputs(g, x_test).reshape(len(x_test), -1)
        figures[name] = dict(acc=float(np.mean(got.argmax(1) == y_test)),
                             agree=float(np.mean(got.argmax(1) == want.argmax(1))),
                             mae=float(np.mean(np.abs(got - want))))
    float_acc = float(np.mean(want.argmax(1) == y_test))
    print(f"\ndigits CNN, {len(x_test)} test samples: float acc {float_acc:.4f}")
    for name, f in figures.items():
        print(f"  {name:5s} PTQ: acc {f['acc']:.4f}  top-1 agreement with float {f['agree']:.4f}  "
              f"mean |out - float| {f['mae']:.2e}")
    assert figures["int16"]["acc"] >= figures["int8"]["acc"]
    assert figures["int16"]["agree"] >= figures["int8"]["agree"]
    assert figures["int16"]["mae"] < figures["int8"]["mae"] / 2  # int8 weights remain: ~4x closer, not 256x


def test_int16_ptq_mlp_tanh_logistic_c_equals_reference():
    keras.utils.set_random_seed(0)
    model = _mlp()
    _random_biases(model)
    fgraph = passes.optimize(load_keras(model))
    calib = np.random.default_rng(2).standard_normal((64, 12)).astype(np.float32)
    q16 = ptq.quantize(fgraph, calib, activations="int16")
    kinds = {op.kind for op in q16.ops}
    assert {OpKind.TANH, OpKind.LOGISTIC, OpKind.FULLY_CONNECTED} <= kinds
    c_model = host_model_for(q16)
    want = float_ref.run_batch(fgraph, [calib[:16]])[0]
    out_t = q16.tensors[q16.outputs[0]]
    for x, w in zip(calib[:16], want):
        xq = _quantize_input(q16, x)
        got = np.asarray(c_model([xq])[0])
        np.testing.assert_array_equal(got, np.asarray(run_reference(q16, [xq])[0]))
        np.testing.assert_allclose(got.astype(np.float64).reshape(w.shape) * out_t.scale, w,
                                   atol=0.02 * np.abs(want).max())


def test_activations_must_be_int8_or_int16(digits_ptq):
    fgraph = digits_ptq[0]
    with pytest.raises(Exception, match="activations"):
        ptq.quantize(fgraph, np.load(ROOT / "examples/digits_calib.npy"), activations="int4")
