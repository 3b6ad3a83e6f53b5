"""Post-training quantization: the int8 spec rules, calibration checks, range estimators, and accuracy
against TF's converter run in TFLM on the same calibration data."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import keras

from tinygen import passes  # noqa: E402
from tinygen.errors import CalibrationError  # noqa: E402
from tinygen.frontend.keras import _load, load_keras  # noqa: E402
from tinygen.ir import OpKind  # noqa: E402
from tinygen.quant import ptq, ranges  # noqa: E402

MODELS = Path(__file__).resolve().parents[2].parent / "shared" / "models"
L = keras.layers


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[..., None]
    return x, d.target


@pytest.fixture(scope="module")
def cnn(digits):
    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 8, 1))
    x = L.Conv2D(8, 3, padding="same", activation="relu")(inp)
    x = L.BatchNormalization()(x)
    a = L.MaxPooling2D(2)(x)
    b = L.DepthwiseConv2D(3, padding="same", use_bias=False)(a)
    b = L.ReLU(max_value=6.0)(b)
    x = L.Concatenate()([a, b])
    x = L.Conv2D(16, 1)(x)
    x = L.Activation("tanh")(x)
    x = L.Flatten()(x)
    logits = L.Dense(10, name="logits")(x)
    model = keras.Model(inp, logits)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(digits[0][:1200], digits[1][:1200], epochs=3, batch_size=64, verbose=0)
    return model


@pytest.fixture(scope="module")
def cnn_q(cnn, digits):
    return ptq.quantize(passes.optimize(load_keras(cnn)), digits[0][:200:2])


def test_int8_spec(cnn_q):
    g = cnn_q
    for name in g.inputs + g.outputs:
        assert g.tensors[name].dtype == "int8"
    for op in g.ops:
        for name in op.inputs + op.outputs:
            if name is None:
                continue
            t = g.tensors[name]
            assert t.quant is not None, name
            assert (t.dtype == "int32") == (op.kind in (OpKind.CONV_2D, OpKind.DEPTHWISE_CONV_2D,
                                                        OpKind.FULLY_CONNECTED) and name == op.inputs[2:3][0])
            if not t.is_const:
                assert t.dtype == "int8" and not t.quant.per_axis and -128 <= t.zero_point <= 127
        if op.kind in (OpKind.CONV_2D, OpKind.DEPTHWISE_CONV_2D, OpKind.FULLY_CONNECTED):
            x, w = g.tensors[op.inputs[0]], g.tensors[op.inputs[1]]
            axis = 3 if op.kind == OpKind.DEPTHWISE_CONV_2D else 0
            assert w.dtype == "int8" and set(w.quant.zero_point) == {0}
            assert len(w.quant.scale) == w.shape[axis] and w.quant.axis == axis
            assert np.abs(w.data.astype(int)).max() <= 127
            # every channel uses its full range (symmetric max-abs scale)
            assert np.all(np.abs(w.data.astype(int)).max(axis=tuple(i for i in range(4) if i != axis) if
                                                          w.data.ndim == 4 else 1) == 127)
            if op.inputs[2] is not None:
                b = g.tensors[op.inputs[2]]
                np.testing.assert_allclose(b.quant.scale, np.float32(x.scale) * np.asarray(w.quant.scale),
                                           rtol=1e-6)
                assert set(b.quant.zero_point) == {0}
    dw = next(op for op in g.ops if op.kind == OpKind.DEPTHWISE_CONV_2D)
    assert dw.inputs[2] is None, "a conv without bias gets none"
    for op in g.ops:
        if op.kind in (OpKind.MAX_POOL_2D, OpKind.RESHAPE, OpKind.CONCATENATION):
            params = {g.tensors[t].quant for t in op.inputs + op.outputs if not g.tensors[t].is_const}
            assert len(params) == 1, op.name
        if op.kind == OpKind.TANH:
            assert (g.tensors[op.outputs[0]].scale, g.tensors[op.outputs[0]].zero_point) == (1 / 128, 0)


def test_fixed_softmax_params():
    model = keras.Sequential([keras.Input((4,)), L.Dense(3, activation="softmax"), L.Reshape((3, 1))])
    q = ptq.quantize(passes.optimize(load_keras(model)), np.random.default_rng(0).normal(size=(8, 4)))
    for name in q.outputs:
        assert (q.tensors[name].scale, q.tensors[name].zero_point) == (np.float32(1 / 256), -128)
    assert not q.warnings


def test_asymmetric_params_follow_tflite_rule():
    s, z = ranges.asymmetric_params(-1.0, 3.0)
    assert s == pytest.approx(4 / 255) and z == round(-128 + 1 / s)
    assert ranges.asymmetric_params(0.5, 2.0) == (pytest.approx(2 / 255), -128)  # widened to include 0
    assert ranges.asymmetric_params(-2.0, -0.5) == (pytest.approx(2 / 255), 127)
    rng = np.random.default_rng(0)
    for lo, hi in rng.normal(size=(50, 2)) * 5:
        lo, hi = min(lo, hi), max(lo, hi)
        s, z = ranges.asymmetric_params(lo, hi)
        assert -128 <= z <= 127
        assert ranges.fake_quant(np.array([0.0]), lo, hi)[0] == 0.0  # 0 exactly representable


def test_estimators():
    rng = np.random.default_rng(0)
    # many Gaussian samples: the extremes sit past the MSE-optimal 8-bit clip (about 4 sigma)
    normal = rng.standard_normal(400000)
    lo, hi, how = ranges.estimate((normal[::2], normal[1::2]), "auto")
    assert how in ("percentile", "mse")
    fresh = rng.standard_normal(200000)
    assert ranges.quant_error(fresh, lo, hi) < 0.9 * ranges.quant_error(fresh, *ranges.minmax(normal))
    # rare huge outliers: clipping them costs more than it saves, min/max stays
    spiky = np.concatenate([rng.uniform(-1, 1, 20000), [40.0, -35.0, 38.0, -41.0]])
    assert ranges.estimate((spiky[::2], spiky[1::2]), "auto")[2] == "minmax"
    flat = rng.uniform(-1, 1, 20000)  # uniform: min/max is already best
    assert ranges.estimate((flat[::2], flat[1::2]), "auto")[2] == "minmax"
    assert ranges.estimate((flat[::2], flat[1::2]), "minmax")[:2] == ranges.minmax(flat)


def test_calibration_validation(cnn):
    g = passes.optimize(load_keras(cnn))
    good = np.zeros((4, 8, 8, 1), np.float32)
    with pytest.raises(CalibrationError, match="shape"):
        ptq.quantize(g, np.zeros((4, 8, 8), np.float32))
    bad = good.copy()
    bad[1, 2, 3, 0] = np.nan
    with pytest.raises(CalibrationError, match="NaN"):
        ptq.quantize(g, bad)
    bad[1, 2, 3, 0] = np.inf
    with pytest.raises(CalibrationError, match="inf"):
        ptq.quantize(g, bad)
    with pytest.raises(CalibrationError, match="dtype"):
        ptq.quantize(g, good.astype(object))
    with pytest.raises(CalibrationError, match="2 arrays"):
        ptq.quantize(g, [good, good])
    with pytest.raises(CalibrationError, match="no samples"):
        ptq.quantize(g, good[:0])
    synth = ptq.quantize(g, None)
    assert synth.warnings and "standard-normal" in synth.warnings[0]


# ---- accuracy against TF's converter (TFLM) on the same calibration data ---------------------------


def _tinygen_error(q, xs, ref):
    from tinygen.verify.testing import run_reference

    ti, to = q.tensors[q.inputs[0]], q.tensors[q.outputs[0]]
    errs = []
    for x, r in zip(xs, ref):
        xq = np.clip(np.round(x / ti.scale) + ti.zero_point, -128, 127).astype(np.int8)[None]
        y = run_reference(q, [xq])[0]
        errs.append(np.abs((y.astype(np.float64) - to.zero_point) * to.scale - r.reshape(y.shape)).mean())
    return float(np.mean(errs))


def _tf_error(model, calib, xs, ref):
    from oracle import tflm_interpreter, tflm_run_with
    from tfconvert import convert

    interp = tflm_interpreter(convert(model, calib))
    qi = interp.get_input_details(0)["quantization_parameters"]
    qo = interp.get_output_details(0)["quantization_parameters"]
    errs = []
    for x, r in zip(xs, ref):
        xq = np.clip(np.round(x / qi["scales"][0]) + qi["zero_points"][0], -128, 127).astype(np.int8)[None]
        y = tflm_run_with(interp, [xq])[0]
        errs.append(np.abs((y.astype(np.float64) - qo["zero_points"][0]) * qo["scales"][0]
                           - r.reshape(y.shape)).mean())
    return float(np.mean(errs))


def _compare(model, calib, test, label):
    graph = passes.optimize(load_keras(model))
    ref = model.predict(test, verbose=0)
    ours = {est: _tinygen_error(ptq.quantize(graph, calib, estimator=est), test, ref)
            for est in ("minmax", "auto")}
    theirs = _tf_error(model, calib, test, ref)
    print(f"\n{label}: mean |int8 - float| tinygen minmax {ours['minmax']:.5f} auto {ours['auto']:.5f}"
          f" TF converter + TFLM {theirs:.5f}")
    assert ours["auto"] <= theirs * 1.01, (ours, theirs)
    return ours, theirs


def test_small_cnn_no_worse_than_tf_converter(cnn, digits):
    _compare(cnn, digits[0][:200:2], digits[0][1300:1400], "digits CNN")


def test_ad_no_worse_than_tf_converter():
    if not MODELS.is_dir():
        pytest.skip("shared models folder is absent")
    windows = np.load(MODELS / "mlperf/ad/sample_windows_float32.npy")
    model = _load(MODELS / "mlperf/ad/ad01.h5")
    _compare(model, windows[::2], windows[1::2], "AD01")


def test_float_bias_stored_as_a_column_quantizes(models_dir):
    """A float FULLY_CONNECTED bias of shape (n, 1) is n values: PTQ quantizes it (it used to crash)."""
    import dataclasses

    from tinygen.compiler import load_model, quantize

    graph = load_model(models_dir / "tflm/hello_world/hello_world_float.tflite")
    for op in graph.ops:
        b = graph.tensors[op.inputs[2]]
        graph.tensors[b.name] = dataclasses.replace(b, shape=(b.size, 1), data=b.data.reshape(-1, 1))
    q = quantize(graph, None)  # no calibration: ranges from the weights and defaults, as the fuzzer runs it
    for op in q.ops:
        if op.kind.value == "FULLY_CONNECTED":
            bias = q.tensors[op.inputs[2]]
            assert bias.dtype == "int32" and bias.data.shape == (bias.size, 1)
