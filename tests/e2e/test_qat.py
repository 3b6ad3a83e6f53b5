"""Quantization-aware training: training, save/load, export bit-exactness, fake-quant vs integer agreement."""
from __future__ import annotations

import numpy as np
import pytest

import keras

from tinygen.quant import qat  # noqa: E402
from tinygen.quant.qat import quantizers as qq  # noqa: E402
from tinygen.quant.qat.export import is_qat_model  # noqa: E402
from tinygen.verify.runner import quantize_input  # noqa: E402
from tinygen.verify.testing import run_c, run_reference  # noqa: E402


def small_model():
    """Conv + BN + ReLU, depthwise + ReLU6, max pool, GAP, dense + softmax: every QAT fusion."""
    from keras import layers

    keras.utils.set_random_seed(0)
    inp = keras.Input((6, 6, 2), name="image")
    x = layers.Conv2D(4, 3, padding="same", use_bias=False, name="conv")(inp)
    x = layers.BatchNormalization(name="bn")(x)
    x = layers.ReLU(name="relu")(x)
    x = layers.DepthwiseConv2D(3, padding="same", activation="relu6", name="dw")(x)
    x = layers.MaxPooling2D(2, name="pool")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dense(3, activation="softmax", name="fc")(x)
    model = keras.Model(inp, x, name="small")
    bn = model.get_layer("bn")  # non-trivial statistics, so folding matters
    bn.set_weights([np.linspace(0.5, 1.5, 4), np.linspace(-0.2, 0.2, 4), np.linspace(-0.1, 0.3, 4),
                    np.linspace(0.5, 2.0, 4)])
    return model


def data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 6, 6, 2)).astype(np.float32)
    y = (x[..., 0].mean(axis=(1, 2)) > 0).astype(np.int64) + (x[..., 1].mean(axis=(1, 2)) > 0.05)
    return x, y


def trained_qat(weights="int8", gradient_bits=None, epochs=4):
    x, y = data()
    m = qat.quantize_model(small_model(), weights=weights, gradient_bits=gradient_bits)
    m.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    hist = m.fit(x, y, epochs=epochs, batch_size=16, verbose=0)
    return m, hist.history["loss"]


@pytest.fixture(scope="module")
def int8_qat():
    """int8 weights, float32 gradients, trained a few steps (shared: fit() traces slowly)."""
    return trained_qat()


@pytest.fixture(scope="module")
def int4_qat_grad8():
    """int4 weights, 8-bit stochastically rounded gradients."""
    return trained_qat(weights="int4", gradient_bits=8)


def quantized_inputs(graph, x):
    t = graph.tensors[graph.inputs[0]]
    return quantize_input(x, {"name": t.name, "dtype": t.dtype, "scale": t.scale, "zero_point": t.zero_point})


def test_rewrite_fuses_like_passes():
    m = qat.quantize_model(small_model())
    kinds = {layer.name: type(layer).__name__ for layer in m.layers}
    assert kinds["conv"] == "QuantizedLayer" and "bn" not in kinds and "relu" not in kinds
    assert m.get_layer("conv").batchnorm is not None and m.get_layer("conv").activation == "relu"
    assert m.get_layer("dw").activation == "relu6"
    assert kinds["pool"] == "MaxPooling2D" and kinds["gap_q"] == "QuantizeOutput"
    assert is_qat_model(m) and not is_qat_model(small_model())


def test_trains_and_loss_decreases(int8_qat):
    _, losses = int8_qat
    assert losses[-1] < losses[0]


def test_gradient_quantization_trains(int4_qat_grad8):
    m, losses = int4_qat_grad8
    assert losses[-1] < losses[0]
    mem = qat.gradient_memory(m)
    n = sum(int(np.prod(w.shape)) for w in m.trainable_weights)
    assert mem["float32_bytes"] == 4 * n
    assert mem["quantized_bytes"] == sum(int(np.prod(w.shape)) + 4 for w in m.trainable_weights)


def test_stochastic_rounding_is_unbiased_with_per_tensor_scale():
    g = np.array([0.013, -0.4, 1.0, 0.25, -0.0071], np.float32)
    n = 4000
    tiled = keras.ops.convert_to_tensor(np.tile(g, (n, 1)))  # same max|g|: the same per-tensor scale
    draws = keras.ops.convert_to_numpy(qq.quantize_gradient(tiled, 4, keras.random.SeedGenerator(0)))
    scale = 1.0 / 7  # max|g| / (2^3 - 1): one scale for the whole tensor
    floor = np.floor(g / scale) * scale
    assert np.all(np.isclose(draws, floor, atol=1e-6) | np.isclose(draws, floor + scale, atol=1e-6))
    assert np.allclose(draws.mean(axis=0), g, atol=4 * 0.5 * scale / np.sqrt(n))  # unbiased
    ramp = keras.ops.convert_to_tensor(np.array([0.5, -2.0], np.float32))  # scale 2/7 for this tensor
    out = keras.ops.convert_to_numpy(qq.quantize_gradient(ramp, 4, keras.random.SeedGenerator(1)))
    assert out[1] == pytest.approx(-2.0) and np.isclose(out[0] / (2.0 / 7), np.round(out[0] / (2.0 / 7)))


def test_int4_weights_are_on_a_7_level_grid(int4_qat_grad8):
    m, _ = int4_qat_grad8
    g = qat.to_graph(m)
    w = g.tensors[next(op for op in g.ops if op.name == "conv").inputs[1]]
    assert w.dtype == "int8" and np.abs(w.data).max() == 7 and g.quant_report[w.name] == "qat int4"


def test_save_load_round_trip(tmp_path, int4_qat_grad8):
    m, _ = int4_qat_grad8
    x, _ = data(8, seed=1)
    path = tmp_path / "qat.keras"
    m.save(path)
    assert is_qat_model(path)
    loaded = keras.models.load_model(path)
    assert type(loaded).__name__ == "QATModel" and loaded.gradient_bits == 8
    assert loaded.get_layer("conv").weight_quantizer.bits == 4
    np.testing.assert_array_equal(m.predict(x, verbose=0), loaded.predict(x, verbose=0))
    g1, g2 = qat.to_graph(m), qat.to_graph(path)
    for name, t in g1.tensors.items():
        assert t.quant == g2.tensors[name].quant
        if t.is_const:
            np.testing.assert_array_equal(t.data, g2.tensors[name].data)


def test_export_compiles_and_c_equals_reference(tmp_path, int8_qat):
    import tinygen

    m, _ = int8_qat
    g = qat.to_graph(m)
    x, _ = data(6, seed=2)
    xq = quantized_inputs(g, x)
    for s in xq:
        np.testing.assert_array_equal(run_c(g, [s[None]])[0], run_reference(g, [s[None]])[0])
    result = tinygen.compile(g, tmp_path / "out", firmware=False)
    assert result.report["inputs"][0]["dtype"] == "int8"


def test_fake_quant_forward_agrees_with_integer_reference(int8_qat):
    m, _ = int8_qat
    g = qat.to_graph(m)
    x, _ = data(48, seed=3)
    fake = m.predict(x, verbose=0)
    out = g.tensors[g.outputs[0]]
    q = np.stack([run_reference(g, [s[None]])[0].reshape(-1) for s in quantized_inputs(g, x)])
    deq = (q.astype(np.float32) - out.zero_point) * out.scale
    assert np.mean(np.abs(fake - deq)) < 2 * out.scale  # well under a couple of output steps on average
    assert np.mean(np.argmax(fake, 1) == np.argmax(deq, 1)) >= 0.95


def test_export_requires_ranges():
    from tinygen.errors import TinygenError

    with pytest.raises(TinygenError, match="no activation range"):
        qat.to_graph(qat.quantize_model(small_model()))


def test_unsupported_layer_is_named():
    from keras import layers

    from tinygen.errors import UnsupportedError

    inp = keras.Input((4, 4, 2))
    a = layers.Conv2D(2, 1, name="a")(inp)
    model = keras.Model(inp, layers.Concatenate(name="cat")([a, inp]))
    with pytest.raises(UnsupportedError, match="'cat'"):
        qat.quantize_model(model)
