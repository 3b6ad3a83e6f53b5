"""Keras breadth: 1-D layers lower like their 2-D twins, QAT corner cases, every refused layer in one error,
activation names, calibration of tiny and empty ranges, Keras 3 operation layers and inference-only layers."""
from __future__ import annotations

import re

import numpy as np
import pytest

import keras

from tinygen import compiler
from tinygen.errors import UnsupportedError
from tinygen.frontend.keras import load_keras
from tinygen.quant import float_ref
from tinygen.verify.runner import quantize_input
from tinygen.verify.testing import run_c, run_reference

L = keras.layers


def _twins():
    """A Conv1D / pooling / BN / activation model and its Conv2D twin on (1, W, C), with the same weights."""
    keras.utils.set_random_seed(0)

    def body(x, conv, pool, gap, k):
        x = conv(8, k, padding="same")(x)
        x = L.BatchNormalization()(x)
        x = L.ReLU()(x)
        x = pool(2 if k == 3 else (1, 2))(x)
        x = conv(8, k)(x)
        x = L.BatchNormalization()(x)
        x = L.Activation("relu")(x)
        return L.Dense(3)(gap()(x))

    i1 = keras.Input((16, 4))
    m1 = keras.Model(i1, body(i1, L.Conv1D, L.MaxPooling1D, L.GlobalAveragePooling1D, 3))
    i2 = keras.Input((1, 16, 4))
    m2 = keras.Model(i2, body(i2, L.Conv2D, L.MaxPooling2D, L.GlobalAveragePooling2D, (1, 3)))
    rng = np.random.default_rng(1)
    for a, b in zip(m1.layers, m2.layers):
        w = a.get_weights()
        if isinstance(a, L.BatchNormalization):  # non-trivial statistics, so folding matters
            w = [rng.uniform(0.5, 1.5, 8), rng.uniform(-0.3, 0.3, 8), rng.uniform(-0.2, 0.2, 8),
                 rng.uniform(0.5, 2.0, 8)]
            a.set_weights(w)
        b.set_weights([w[0][None]] + w[1:] if isinstance(a, L.Conv1D) else w)
    return m1, m2


def _lowered(result) -> list:
    """(op, kernel, MACs, weight bytes, scratch bytes) of every layer that runs code."""
    return [(x["op"], x["kernel"], x["macs"], x["weight_bytes"], x["scratch_bytes"])
            for x in result.report["layers"] if x["kernel"] not in ("alias", "view")]


@pytest.mark.parametrize("activations", ["int8", "int16"])
def test_conv1d_lowers_like_its_conv2d_twin(activations):
    m1, m2 = _twins()
    x = np.random.default_rng(0).standard_normal((8, 16, 4)).astype(np.float32)
    r1 = compiler.build(m1, calibration=x, activations=activations)
    r2 = compiler.build(m2, calibration=x[:, None], activations=activations)
    assert _lowered(r1) == _lowered(r2)
    assert [x[0] for x in _lowered(r1)] == ["CONV_2D", "MAX_POOL_2D", "CONV_2D", "MEAN", "FULLY_CONNECTED"]
    assert r1.report["arena_bytes"] == r2.report["arena_bytes"]
    convs = [op for op in r1.graph.ops if op.kind.value == "CONV_2D"]
    assert all(op.attrs.activation.value == "RELU" for op in convs)  # batch norm folded, ReLU fused
    xq = quantize_input(x[:2], _info(r1.graph))
    for s in xq:
        np.testing.assert_array_equal(run_c(r1.graph, [s[None]])[0], run_reference(r1.graph, [s[None]])[0])
        np.testing.assert_array_equal(run_reference(r1.graph, [s[None]])[0],
                                      run_reference(r2.graph, [s[None, None]])[0])


def _info(graph) -> dict:
    t = graph.tensors[graph.inputs[0]]
    return {"name": t.name, "dtype": t.dtype, "scale": t.scale, "zero_point": t.zero_point}


def test_qat_gradient_bits_with_biased_conv_before_batchnorm():
    from tinygen.quant import qat

    keras.utils.set_random_seed(0)
    i = keras.Input((6, 6, 2))
    x = L.ReLU()(L.BatchNormalization()(L.Conv2D(4, 3, use_bias=True)(i)))
    m = qat.quantize_model(keras.Model(i, L.Dense(2)(L.Flatten()(x))), gradient_bits=8)
    m.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).standard_normal((16, 6, 6, 2)).astype(np.float32)
    hist = m.fit(x, np.ones((16, 2), np.float32), epochs=2, batch_size=8, verbose=0)
    assert np.all(np.isfinite(hist.history["loss"]))


def test_qat_conv1d_exports_and_c_equals_reference():
    from tinygen.quant import qat

    keras.utils.set_random_seed(0)
    i = keras.Input((16, 2))
    x = L.ReLU()(L.BatchNormalization()(L.Conv1D(4, 3)(i)))
    x = L.Conv1D(4, 3, activation="relu")(L.MaxPooling1D(2)(x))
    m = qat.quantize_model(keras.Model(i, L.Dense(2)(L.Flatten()(x))))
    m.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).standard_normal((16, 16, 2)).astype(np.float32)
    m.fit(x, np.ones((16, 2), np.float32), epochs=1, batch_size=8, verbose=0)
    g = qat.to_graph(m)
    assert sum(op.kind.value == "CONV_2D" for op in g.ops) == 2 and not any(op.kind.value == "MUL" for op in g.ops)
    for s in quantize_input(x[:2], _info(g)):
        np.testing.assert_array_equal(run_c(g, [s[None]])[0], run_reference(g, [s[None]])[0])


def test_every_refused_layer_in_one_line():
    i = keras.Input((8, 8, 3))
    x = L.Conv2D(4, 3, activation="glu", name="c1")(i)
    x = L.Conv2D(4, 1, name="c2")(x)
    x = L.Flatten()(x)
    m = keras.Model(i, L.Dense(2, activation="sparsemax", name="d")(x))
    with pytest.raises(UnsupportedError) as e:
        load_keras(m)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("2 layers are not supported")
    assert "layer 'c1' (Conv2D): activation 'glu'" in msg and "layer 'd' (Dense): activation 'sparsemax'" in msg


def test_swish_is_x_times_logistic():
    i = keras.Input((6, 6, 3))
    x = L.Conv2D(4, 3, activation="swish")(i)
    m = keras.Model(i, L.Activation("swish")(x))
    g = load_keras(m)
    assert [op.kind.value for op in g.ops] == ["CONV_2D", "LOGISTIC", "MUL", "LOGISTIC", "MUL"]
    x = np.random.default_rng(0).standard_normal((3, 6, 6, 3)).astype(np.float32)
    np.testing.assert_allclose(float_ref.run_batch(g, [x])[0], m.predict(x, verbose=0), atol=1e-5)


# ---- calibration: tiny and empty ranges -----------------------------------------------------------


def _tiny_classifier(mag: float):
    """Dense -> Softmax whose logits span about `mag` (an untrained classifier's near-zero logits)."""
    i = keras.Input((4,))
    d = L.Dense(10, name="logits")
    m = keras.Model(i, L.Softmax(name="predictions")(d(i)))
    d.set_weights([np.random.default_rng(0).standard_normal((4, 10)).astype(np.float32) * mag,
                   np.zeros(10, np.float32)])
    return m


def _tflm_equals_c(graph, x) -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from oracle import tflm_run
    from tinygen.verify.export_tflite import to_bytes

    tfl = to_bytes(graph)
    for s in quantize_input(x, _info(graph)):
        c = run_c(graph, [s[None]])[0]
        np.testing.assert_array_equal(c, run_reference(graph, [s[None]])[0])
        np.testing.assert_array_equal(c.reshape(-1), np.asarray(tflm_run(tfl, [s[None]])[0]).reshape(-1))


@pytest.mark.parametrize("mag", [1e-12, 1e-9, 0.0])
def test_softmax_of_tiny_logits_builds_and_equals_tflm(mag):
    x = np.random.default_rng(1).standard_normal((8, 4)).astype(np.float32)
    r = compiler.build(_tiny_classifier(mag), calibration=x)
    logits = r.graph.tensors[r.graph.ops[-1].inputs[0]]
    # TFLM's int8 softmax needs beta * input scale * 2^26 > 1; the range stays as narrow as that allows
    assert 1.0 < float(np.float32(logits.scale)) * 2 ** 26 < 1.01
    assert any("SOFTMAX" in w and "widened" in w for w in r.graph.warnings)
    _tflm_equals_c(r.graph, x[:3])


@pytest.mark.parametrize("act", ["sigmoid", "tanh"])
def test_int16_logistic_tanh_of_tiny_inputs_build_and_equal_tflm(act):
    """16x8: TFLM's int16 LOGISTIC / TANH shift their input left by at most 30; a tinier input range is
    widened to the narrowest scale that allows (and the build warns)."""
    i = keras.Input((4,))
    d = L.Dense(6)
    m = keras.Model(i, L.Activation(act)(d(i)))
    d.set_weights([np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32) * 1e-6,
                   np.zeros(6, np.float32)])
    x = np.random.default_rng(1).standard_normal((8, 4)).astype(np.float32)
    r = compiler.build(m, calibration=x, activations="int16")
    scale = float(np.float32(r.graph.tensors[r.graph.ops[-1].inputs[0]].scale))
    assert 1.0 < scale * 3 * 4096 * 2 ** 30 / 2 ** 14 < 1.01
    assert any(("LOGISTIC" in w or "TANH" in w) and "widened" in w for w in r.graph.warnings)
    _tflm_equals_c(r.graph, x[:3])


def test_tiny_range_is_widened_like_tf_converter():
    """A range of at most 1e-6 becomes [-5e-7, 5e-7] at least (TF's converter: 7.843e-9 per int8 step)."""
    i = keras.Input((4,))
    d = L.Dense(6, name="tiny")
    m = keras.Model(i, L.Dense(3, name="out")(d(i)))
    d.set_weights([np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32) * 1e-12,
                   np.zeros(6, np.float32)])
    x = np.random.default_rng(1).standard_normal((8, 4)).astype(np.float32)
    for act, want in (("int8", 1e-6 / 255), ("int16", 5e-7 / 32767)):
        g = compiler.build(m, calibration=x, activations=act).graph
        assert g.tensors["tiny"].scale == pytest.approx(want, rel=1e-3)
    g = compiler.build(m, calibration=x).graph
    _tflm_equals_c(g, x[:2])


def test_constant_tensor_warns_instead_of_failing():
    i = keras.Input((4,))
    d = L.Dense(6, name="dead", activation="relu")
    m = keras.Model(i, L.Dense(3)(d(i)))
    d.set_weights([np.zeros((4, 6), np.float32), -np.ones(6, np.float32)])  # relu(-1): always 0
    x = np.random.default_rng(1).standard_normal((8, 4)).astype(np.float32)
    r = compiler.build(m, calibration=x)
    assert any("'dead" in w and "constant (0) on the calibration data: its range is [-5e-07, 5e-07]" in w
               for w in r.graph.warnings)
    _tflm_equals_c(r.graph, x[:2])


# ---- Keras 3 operation layers ---------------------------------------------------------------------


def _ops_model():
    from keras import ops

    i = keras.Input((4, 4, 3))
    a = i + 3.0
    b = a * 0.5
    c = 1.0 - b
    d = ops.relu6(c)
    e = ops.sigmoid(d)
    f = ops.mean(e, axis=[1, 2], keepdims=True)
    h = ops.reshape(ops.concatenate([e, d], axis=-1), (-1, 4, 24))
    k = b / 6.0
    m = ops.multiply(i, e)
    n = ops.clip(m, 0.0, 6.0) - np.linspace(0, 1, 3).astype(np.float32)
    o = ops.squeeze(f, axis=1)
    q = ops.silu(ops.hard_silu(n))
    r = ops.softmax(ops.transpose(h, (0, 2, 1)))
    s = ops.clip(ops.maximum(k, 0.25), -1.0, 1.0)
    return keras.Model(i, [h, k, m, o, q, r, s])


def test_operation_layers_map_onto_ir_ops_and_equal_tflm():
    from tinygen.verify.export_tflite import to_bytes
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from oracle import tflm_interpreter, tflm_run_with

    m = _ops_model()
    g = load_keras(m)
    kinds = [op.kind.value for op in g.ops]
    assert {"ADD", "SUB", "MUL", "RELU6", "LOGISTIC", "MEAN", "CONCATENATION", "RESHAPE", "TRANSPOSE",
            "HARD_SWISH", "SOFTMAX", "MAXIMUM", "MINIMUM"} <= set(kinds)
    x = np.random.default_rng(0).standard_normal((3, 4, 4, 3)).astype(np.float32)
    for got, want in zip(float_ref.run_batch(g, [x]), m.predict(x, verbose=0)):
        np.testing.assert_allclose(got, want, atol=1e-6)
    r = compiler.build(m, calibration=x)
    tfl = to_bytes(r.graph)
    for s in quantize_input(x, _info(r.graph)):
        c = run_c(r.graph, [s[None]])
        tflm = tflm_run_with(tflm_interpreter(tfl), [s[None]], len(r.graph.outputs))
        for a, b, w in zip(c, run_reference(r.graph, [s[None]]), tflm):
            np.testing.assert_array_equal(a, b)
            np.testing.assert_array_equal(a.reshape(-1), np.asarray(w).reshape(-1))


def test_unmapped_operation_is_one_line():
    from keras import ops

    i = keras.Input((4,))
    m = keras.Model(i, ops.sort(i + 1.0) * ops.cumprod(i, axis=1))
    with pytest.raises(UnsupportedError) as e:
        load_keras(m)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("2 layers are not supported")
    assert re.search(r"layer 'sort\w*' \(keras.ops Sort\) is not supported", msg)
    assert re.search(r"layer 'cumprod\w*' \(keras.ops Cumprod\) is not supported", msg)


def test_softmax_over_1000_equal_logits_c_equals_reference():
    """1000 equal logits: the output exponent is 32; C must round to 0 like the reference (not shift by 32)."""
    i = keras.Input((4,))
    d = L.Dense(1000)
    m = keras.Model(i, L.Softmax()(d(i)))
    d.set_weights([np.zeros((4, 1000), np.float32), np.zeros(1000, np.float32)])
    x = np.random.default_rng(1).standard_normal((4, 4)).astype(np.float32)
    g = compiler.build(m, calibration=x).graph
    s = quantize_input(x[:1], _info(g))[0]
    c = run_c(g, [s[None]])[0]
    np.testing.assert_array_equal(c, run_reference(g, [s[None]])[0])
    assert np.all(c == -128)  # 1/1000 is below half an output step (1/256)


# ---- layers ----------------------------------------------------------------------------------------


def _layers_model():
    keras.utils.set_random_seed(0)
    norm = L.Normalization()
    norm.adapt(np.random.default_rng(2).normal(0.5, 2.0, (32, 6, 6, 4)).astype(np.float32))
    i = keras.Input((8, 8, 3))
    x = L.Rescaling(1.0 / 255, offset=-0.5)(i)
    x = L.Conv2D(4, 3)(x)
    x = norm(x)
    x = L.Dropout(0.3)(x)
    x = L.SpatialDropout2D(0.2)(x)
    x = L.GaussianNoise(0.1)(x)
    x = L.GaussianDropout(0.1)(x)
    x = L.ActivityRegularization(l1=0.01)(x)
    x = L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", activation="relu")(x)
    x = L.Rescaling([0.5, 1.0, 2.0, 1.0, 0.5, 1.0, 2.0, 1.0])(x)
    x = L.GlobalMaxPooling2D()(x)
    return keras.Model(i, L.Dense(3)(x))


def test_rescaling_normalization_identities_depth_multiplier():
    m = _layers_model()
    g = load_keras(m)
    kinds = [op.kind.value for op in g.ops]
    assert kinds.count("MUL") == 3 and kinds.count("ADD") == 2 and "DEPTHWISE_CONV_2D" in kinds
    x = np.random.default_rng(0).uniform(0, 255, (4, 8, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(float_ref.run_batch(g, [x])[0], m.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    r = compiler.build(m, calibration=x)
    _tflm_equals_c(r.graph, x[:2])


def test_grouped_conv2d_is_sliced_convs():
    keras.utils.set_random_seed(0)
    i = keras.Input((8, 8, 4))
    x = L.Conv2D(8, 3, groups=2, padding="same", activation="relu")(i)
    x = L.Conv2D(8, 1, groups=4, strides=2)(x)
    m = keras.Model(i, L.Dense(3)(L.Flatten()(x)))
    g = load_keras(m)
    assert [op.kind.value for op in g.ops].count("CONV_2D") == 6
    x = np.random.default_rng(0).standard_normal((4, 8, 8, 4)).astype(np.float32)
    np.testing.assert_allclose(float_ref.run_batch(g, [x])[0], m.predict(x, verbose=0), atol=1e-5)
    _tflm_equals_c(compiler.build(m, calibration=x).graph, x[:2])


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_leading_rescaling_folds_into_the_first_conv(padding):
    """Rescaling / Normalization first: folded into the conv, the input quantized in the caller's units
    ([0, 255]: scale 1); with SAME padding only the scale folds, the offset stays an ADD."""
    keras.utils.set_random_seed(0)
    norm = L.Normalization(mean=[0.4, 0.5, 0.6], variance=[0.04, 0.09, 0.01])
    i = keras.Input((8, 8, 3))
    x = norm(L.Rescaling(1.0 / 255)(i))
    x = L.Conv2D(4, 3, padding=padding)(x)
    m = keras.Model(i, L.Dense(2)(L.Flatten()(L.Rescaling(0.5, offset=1.0)(x))))
    x = np.random.default_rng(0).uniform(0, 255, (8, 8, 8, 3)).astype(np.float32)
    r = compiler.build(m, calibration=x)
    kinds = [op.kind.value for op in r.graph.ops]
    assert kinds[0] == ("CONV_2D" if padding == "valid" else "ADD")
    assert kinds.count("MUL") == 1  # the Rescaling after the conv stays
    t = r.graph.tensors[r.graph.inputs[0]]
    assert t.scale == pytest.approx(255 / 255, rel=0.01) and t.zero_point == -128
    g = load_keras(m)
    from tinygen import passes

    np.testing.assert_allclose(float_ref.run_batch(passes.optimize(g), [x])[0], m.predict(x, verbose=0),
                               rtol=1e-4, atol=1e-4)
    _tflm_equals_c(r.graph, x[:2])


def test_qat_passes_inference_identities_through():
    from tinygen.quant import qat

    i = keras.Input((6, 6, 2))
    x = L.ActivityRegularization(l1=0.01)(L.Conv2D(4, 3, activation="relu")(i))
    x = L.GaussianDropout(0.1)(L.SpatialDropout2D(0.1)(x))
    m = qat.quantize_model(keras.Model(i, L.Dense(2)(L.Flatten()(x))))
    qat.calibrate(m, np.random.default_rng(0).standard_normal((8, 6, 6, 2)).astype(np.float32))
    g = qat.to_graph(m)
    assert [op.kind.value for op in g.ops] == ["CONV_2D", "RESHAPE", "FULLY_CONNECTED"]


def test_int8_swish_logistic_is_a_table_lookup():
    """EfficientNet's swish: the int8 LOGISTIC is its 256-entry table (tg_lut_s8), equal to TFLM."""
    i = keras.Input((6, 6, 3))
    m = keras.Model(i, L.Conv2D(4, 3, activation="swish")(i))
    x = np.random.default_rng(0).standard_normal((4, 6, 6, 3)).astype(np.float32)
    r = compiler.build(m, calibration=x)
    assert [(x["op"], x["kernel"]) for x in r.report["layers"]][1] == ("LOGISTIC", "tg_lut_s8")
    hs = compiler.build(keras.Model(i, L.Activation("hard_swish")(i)), calibration=x)
    assert [x["kernel"] for x in hs.report["layers"]] == ["tg_lut_s8"]
    _tflm_equals_c(hs.graph, x[:2])
    _tflm_equals_c(r.graph, x[:2])


def test_concatenate_with_a_constant_is_refused_in_one_line():
    from keras import ops

    i = keras.Input((4, 4, 2))
    m = keras.Model(i, ops.concatenate([i, np.ones((1, 4, 4, 1), np.float32)], axis=-1))
    with pytest.raises(UnsupportedError,
                       match=r"^layer 'concatenate\w*' \(keras.ops Concatenate\): operand 1 is a constant"):
        load_keras(m)
