"""Quantization-aware training of Conv2DTranspose / Conv1DTranspose, DepthwiseConv1D, SeparableConv1D / 2D,
MultiHeadAttention, LSTM, GRU, SimpleRNN and Bidirectional: each small model is rewritten by
tinygen.qat.quantize_model, trained a few steps on synthetic data, exported, and checked:

(a) the generated C equals the NumPy reference, byte for byte;
(b) the C equals TFLM on tinygen's .tflite export of the same graph (phase CONV_2Ds, BATCH_MATMUL +
    SOFTMAX, UNIDIRECTIONAL_SEQUENCE_LSTM, the GRU / RNN step program as builtins);
(c) the exported int8 weights are the QAT codes round(w / scale) of the trained float weights, and
    codes * scale is exactly what the fake quantizer fed the forward pass;
(d) the QAT model's fake-quantized float output is within a few output quantization steps of the C.
"""
from __future__ import annotations

import numpy as np
import pytest

import keras

from oracle import tflm_run
from tinygen.quant import qat
from tinygen.quant.qat import quantizers as qq
from tinygen.verify.export_tflite import to_bytes
from tinygen.verify.testing import host_model_for, run_reference

L = keras.layers
# (d): mean |fake quant - C| at most MEAN_STEPS output steps, and at least 99% of the values within
# NEAR_STEPS steps (the int8 graph's fixed-point gates, requantizations and LUTs round differently)
MEAN_STEPS, NEAR_STEPS = 0.25, 2


def _model(key: str):
    keras.utils.set_random_seed(3)
    if key == "deconv":
        x = keras.Input((5, 5, 3), batch_size=1)
        y = L.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu", name="up1")(x)
        y = L.Conv2DTranspose(2, (3, 2), strides=(2, 3), padding="valid", name="up2")(y)
    elif key == "deconv1d":
        x = keras.Input((6, 3), batch_size=1)
        y = L.Conv1DTranspose(4, 3, strides=2, padding="same", name="up")(x)
        y = L.ReLU(name="relu")(y)
    elif key == "dw1d":  # depthwise 1-D + BatchNormalization + ReLU folded, then a causal Conv1D
        x = keras.Input((8, 3), batch_size=1)
        y = L.ReLU(name="relu")(L.BatchNormalization(name="bn")(L.DepthwiseConv1D(3, depth_multiplier=2,
                                                                                    padding="same", name="dw")(x)))
        y = L.Conv1D(4, 3, padding="causal", name="causal")(y)
    elif key == "sep":
        x = keras.Input((6, 6, 3), batch_size=1)
        y = L.SeparableConv2D(4, 3, strides=2, padding="same", activation="relu", name="sep")(x)
    elif key == "sep1d":
        x = keras.Input((8, 3), batch_size=1)
        y = L.SeparableConv1D(4, 3, padding="same", depth_multiplier=2, name="sep")(x)
    elif key == "mha":
        x = keras.Input((6, 8), batch_size=1)
        a = L.MultiHeadAttention(2, 4, name="mha")(x, x)
        y = L.Dense(3, name="head")(L.Add(name="res")([x, a]))
    elif key == "lstm":
        x = keras.Input((7, 4), batch_size=1)
        y = L.Dense(3, name="head")(L.LSTM(8, name="lstm")(x))
    elif key == "gru":
        x = keras.Input((7, 4), batch_size=1)
        y = L.Dense(3, name="head")(L.GRU(8, return_sequences=True, name="gru")(x))
    elif key == "gru_last":
        x = keras.Input((6, 4), batch_size=1)
        y = L.GRU(6, reset_after=False, name="gru")(L.SimpleRNN(5, return_sequences=True, name="rnn")(x))
    elif key == "bidir":  # concat: both directions share the merged range
        x = keras.Input((6, 4), batch_size=1)
        y = L.Bidirectional(L.LSTM(5, return_sequences=True), merge_mode="concat", name="bi")(x)
    elif key == "bidir_gru":
        x = keras.Input((6, 4), batch_size=1)
        y = L.Bidirectional(L.GRU(5), merge_mode="ave", name="bi")(x)
    else:
        raise ValueError(key)
    return keras.Model(x, y, name=key)


KEYS = ("deconv", "deconv1d", "dw1d", "sep", "sep1d", "mha", "lstm", "gru", "gru_last", "bidir", "bidir_gru")


def _data(model, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (n,) + tuple(model.input.shape[1:])).astype(np.float32)


@pytest.fixture(scope="module")
def trained():
    cache = {}

    def get(key: str):
        if key not in cache:
            m = _model(key)
            x = _data(m, 48, 0)
            target = m.predict(x, verbose=0) * 0.9 + 0.05  # a nearby function: the weights must move
            q = qat.quantize_model(m)
            q.compile(optimizer=keras.optimizers.Adam(3e-3), loss="mse")
            hist = q.fit(x, target, epochs=3, batch_size=8, verbose=0)
            g = qat.to_graph(q)
            cache[key] = (q, g, hist.history["loss"])
        return cache[key]
    return get


def _q_in(g, x: np.ndarray) -> np.ndarray:
    t = g.tensors[g.inputs[0]]
    v = np.sign(x / np.float32(t.scale)) * np.floor(np.abs(x / np.float32(t.scale)) + 0.5) + t.zero_point
    return np.clip(v, -128, 127).astype(np.int8).reshape(t.shape)


def test_rewrite_wraps_the_layers():
    kinds = {key: {layer.name: type(layer).__name__ for layer in qat.quantize_model(_model(key)).layers}
             for key in ("deconv", "deconv1d", "dw1d", "sep", "mha", "lstm", "gru_last")}
    assert kinds["deconv"]["up1"] == kinds["deconv"]["up2"] == "QuantizedDeconv"
    assert kinds["deconv1d"]["up"] == "QuantizedDeconv" and "relu" not in kinds["deconv1d"]  # ReLU fused
    assert kinds["dw1d"]["dw"] == "QuantizedLayer" and "bn" not in kinds["dw1d"] and "relu" not in kinds["dw1d"]
    assert kinds["sep"]["sep"] == "QuantizedSeparable"
    assert kinds["mha"]["mha"] == "QuantizedAttention"
    assert kinds["lstm"]["lstm"] == kinds["gru_last"]["gru"] == kinds["gru_last"]["rnn"] == "QuantizedRecurrent"
    assert type(qat.quantize_model(_model("bidir")).get_layer("bi")).__name__ == "QuantizedBidirectional"


@pytest.mark.parametrize("key", KEYS)
def test_c_equals_reference_and_tflm(trained, key):
    q, g, losses = trained(key)
    assert np.all(np.isfinite(losses))
    model, tfl = host_model_for(g), to_bytes(g)
    rng = np.random.default_rng(5)
    tin = g.tensors[g.inputs[0]]
    samples = [_q_in(g, x) for x in _data(q, 3, 6)]
    samples += [rng.integers(-128, 127, size=tin.shape, endpoint=True).astype(np.int8) for _ in range(2)]
    for k, xq in enumerate(samples):
        model.reset()  # recurrent state: every sample is a fresh sequence, as in TFLM's fresh interpreter
        c = np.asarray(model([xq])[0]).reshape(-1)
        ref = np.asarray(run_reference(g, [xq])[0]).reshape(-1)
        want = np.asarray(tflm_run(tfl, [xq])[0]).reshape(-1)
        assert c.tobytes() == ref.tobytes(), (key, k)
        assert c.tobytes() == want.tobytes(), (key, k)


def _round(v):
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


def _fake(w, axis, per_gate_units=None):
    """The QAT forward pass's fake-quantized weights (the quantizer the layers use), as NumPy."""
    q8 = qq.IntQuantizer(8)
    w = keras.ops.convert_to_tensor(w)
    if per_gate_units:
        blocks = keras.ops.reshape(w, (w.shape[0], 4, per_gate_units))
        return keras.ops.convert_to_numpy(keras.ops.reshape(q8.fake_quant(blocks, 1), w.shape))
    return keras.ops.convert_to_numpy(q8.fake_quant(w, axis))


def _ir_weight(g, name):
    t = g.tensors[name]
    scale = np.asarray(t.quant.scale, np.float32)
    return t.data, scale, t.quant.axis


def _check_codes(codes, scale, w, axis):
    """codes == clip(round(w / scale)) per channel on `axis` (None: one scale), codes * scale == fake(w)."""
    shape = [1] * w.ndim
    if axis is not None:
        shape[axis] = -1
    s = np.asarray(scale, np.float32).reshape(shape)
    np.testing.assert_array_equal(codes, np.clip(_round(w / s), -127, 127))
    assert np.abs(codes).max() == 127  # symmetric: the largest weight of a channel lands on +-127


@pytest.mark.parametrize("key", ["deconv", "sep", "mha", "lstm", "gru"])
def test_exported_weights_are_the_qat_codes(trained, key):
    from tinygen.frontend.deconv_phases import phase_weights

    q, g, _ = trained(key)
    ops_by = {op.name: op for op in g.ops}
    if key == "deconv":
        layer = q.get_layer("up1")
        w = keras.ops.convert_to_numpy(layer.layer.kernel)  # (kh, kw, O, C)
        fake = _fake(w, 2)
        codes, scale, _, _ = layer.quantized()["kernel"]
        _check_codes(codes, scale, w, 2)
        np.testing.assert_array_equal(codes * scale[None, None, :, None], fake)
        want = phase_weights(fake.transpose(3, 2, 0, 1), (2, 2), (2, 2))  # the phase convs' float weights
        for rh, name in enumerate(("up1/phase0", "up1/phase1")):
            data, s, axis = _ir_weight(g, ops_by[name].inputs[1])
            assert axis == 0
            np.testing.assert_array_equal(data.astype(np.float32) * s[:, None, None, None], want[rh * 8:(rh + 1) * 8])
    elif key == "sep":
        layer = q.get_layer("sep")
        dw = keras.ops.convert_to_numpy(layer.layer.depthwise_kernel).reshape(9, 3)  # (taps, C * M)
        pw = keras.ops.convert_to_numpy(layer.layer.pointwise_kernel).reshape(3, 4)  # (C * M, O)
        for part, w, op_name, layout in (("depthwise", dw, "sep/depthwise", lambda a: a.reshape(1, 3, 3, 3)),
                                         ("pointwise", pw, "sep", lambda a: a.T.reshape(4, 1, 1, 3))):
            codes, scale, _, _ = layer.quantized()[part]
            codes = codes.reshape(w.shape)
            _check_codes(codes, scale, w, 1)
            data, s, axis = _ir_weight(g, ops_by[op_name].inputs[1])
            np.testing.assert_array_equal(data, layout(codes))
            deq = data.astype(np.float32) * (s.reshape(1, 1, 1, -1) if axis == 3 else s.reshape(-1, 1, 1, 1))
            np.testing.assert_array_equal(deq, layout(_fake(w, 1)))
    elif key == "mha":
        layer = q.get_layer("mha")
        for part, op_name in (("query", "mha/query"), ("key", "mha/key"), ("value", "mha/value"),
                              ("attention_output", "mha")):
            codes, scale, k2, _ = layer.quantized()[part]
            _check_codes(codes, scale, k2, 1)
            data, s, axis = _ir_weight(g, ops_by[op_name].inputs[1])
            np.testing.assert_array_equal(data, codes.T)
            np.testing.assert_array_equal(data.astype(np.float32) * s[:, None], _fake(k2, 1).T)
    elif key == "lstm":
        layer = q.get_layer("lstm")
        op = next(o for o in g.ops if o.kind.value == "UNIDIRECTIONAL_SEQUENCE_LSTM")
        for name, first in (("kernel", 1), ("recurrent_kernel", 5)):
            w = keras.ops.convert_to_numpy(getattr(layer.layer.cell, name))
            fake = _fake(w, None, per_gate_units=8)
            for gate in range(4):
                data, s, axis = _ir_weight(g, op.inputs[first + gate])
                cols = slice(gate * 8, (gate + 1) * 8)
                assert axis is None and s.size == 1
                _check_codes(data.T, s, w[:, cols], None)
                np.testing.assert_array_equal(data.astype(np.float32).T * s[0], fake[:, cols])
    else:
        layer = q.get_layer("gru")
        op = next(o for o in g.ops if o.kind.value == "GRU")
        for name, w_in in (("kernel", 1), ("recurrent_kernel", 2)):
            w = keras.ops.convert_to_numpy(getattr(layer.layer.cell, name))
            data, s, axis = _ir_weight(g, op.inputs[w_in])
            assert axis == 0
            _check_codes(data.T, s, w, 1)
            np.testing.assert_array_equal(data.astype(np.float32) * s[:, None], _fake(w, 1).T)


@pytest.mark.parametrize("key", KEYS)
def test_fake_quant_forward_is_close_to_c(trained, key):
    q, g, _ = trained(key)
    x = _data(q, 12, 7)
    fake = q.predict(x, batch_size=1, verbose=0).reshape(len(x), -1)
    model = host_model_for(g)
    out = g.tensors[g.outputs[0]]
    got = []
    for s in x:
        model.reset()
        got.append((np.asarray(model([_q_in(g, s[None])])[0], np.float32).reshape(-1) - out.zero_point) * out.scale)
    steps = np.abs(fake - np.stack(got)) / out.scale
    print(f"\n{key}: |fake quant - C| in output steps: mean {steps.mean():.3f}, max {steps.max():.1f}, "
          f"within {NEAR_STEPS}: {np.mean(steps <= NEAR_STEPS + 1e-3):.3f}")
    assert steps.mean() <= MEAN_STEPS
    assert np.mean(steps <= NEAR_STEPS + 1e-3) >= 0.99


@pytest.mark.parametrize("key", ["deconv", "mha", "gru_last", "bidir"])
def test_calibrate_then_save_load_round_trip(tmp_path, key):
    """calibrate reaches the ranges inside the blocks; a saved model reloads to the same export."""
    m = _model(key)
    x = _data(m, 16, 1)
    q = qat.quantize_model(m)
    qat.calibrate(q, x)
    path = tmp_path / f"{key}.keras"
    q.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(q.predict(x, verbose=0), loaded.predict(x, verbose=0))
    g1, g2 = qat.to_graph(q), qat.to_graph(path)
    for name, t in g1.tensors.items():
        assert t.quant == g2.tensors[name].quant, name
        if t.is_const:
            np.testing.assert_array_equal(t.data, g2.tensors[name].data)
    assert [op.attrs for op in g1.ops] == [op.attrs for op in g2.ops]


def test_attention_mask_is_refused_naming_the_layer():
    from tinygen.errors import UnsupportedError

    x, mask = keras.Input((4, 6), batch_size=1), keras.Input((4, 4), batch_size=1)
    model = keras.Model([x, mask], L.MultiHeadAttention(2, 3, name="att")(x, x, attention_mask=mask))
    with pytest.raises(UnsupportedError, match="layer 'att' \\(MultiHeadAttention\\): attention_mask"):
        qat.quantize_model(model)
