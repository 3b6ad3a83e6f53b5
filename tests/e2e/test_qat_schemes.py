"""QAT with low-bit weight quantizers: exported weights carry their storage encoding and run on the packed
low-bit kernels; C == NumPy reference; the Keras fake-quant forward agrees with the integer run."""
from __future__ import annotations

import numpy as np
import pytest

import keras

from tinygen.quant import qat  # noqa: E402
from tinygen.quant.qat import quantizers as qq  # noqa: E402
from tinygen.ir import OpKind  # noqa: E402
from tinygen.quant import weights as wq  # noqa: E402
from tinygen.verify.runner import quantize_input  # noqa: E402
from tinygen.verify.testing import run_c, run_reference  # noqa: E402

WEIGHTED = (OpKind.CONV_2D, OpKind.DEPTHWISE_CONV_2D, OpKind.FULLY_CONNECTED)


def tiny_model():
    """Conv + BN + ReLU, depthwise + ReLU6, GAP, dense + softmax: conv, depthwise and FC weights."""
    from keras import layers

    keras.utils.set_random_seed(0)
    inp = keras.Input((6, 6, 2), name="image")
    x = layers.Conv2D(6, 3, padding="same", use_bias=False, name="conv")(inp)
    x = layers.BatchNormalization(name="bn")(x)
    x = layers.ReLU(name="relu")(x)
    x = layers.DepthwiseConv2D(3, padding="same", activation="relu6", name="dw")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dense(3, activation="softmax", name="fc")(x)
    model = keras.Model(inp, x, name="tiny")
    model.get_layer("bn").set_weights([np.linspace(0.5, 1.5, 6), np.linspace(-0.2, 0.2, 6),
                                       np.linspace(-0.1, 0.3, 6), np.linspace(0.5, 2.0, 6)])
    return model


def data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 6, 6, 2)).astype(np.float32)
    y = (x[..., 0].mean(axis=(1, 2)) > 0).astype(np.int64) + (x[..., 1].mean(axis=(1, 2)) > 0.05)
    return x, y


def trained(weights):
    x, y = data()
    m = qat.quantize_model(tiny_model(), weights=weights)
    m.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    m.fit(x, y, epochs=1, batch_size=16, verbose=0)
    return m


def encodings(graph) -> dict:
    return {op.name: graph.tensors[op.inputs[1]] for op in graph.ops if op.kind in WEIGHTED}


def quantized(graph, x):
    t = graph.tensors[graph.inputs[0]]
    return quantize_input(x, {"name": t.name, "dtype": t.dtype, "scale": t.scale, "zero_point": t.zero_point})


# one model per scheme, trained once; the mixed table puts a different scheme on each layer kind
CASES = {
    "int4": ("int4", {"conv": "int4", "dw": "int4", "fc": "int4"}),
    "ternary": ("ternary", {"conv": "ternary", "dw": "ternary", "fc": "ternary"}),
    "binary": ("binary", {"conv": "binary", "dw": "binary", "fc": "binary"}),
    "mixed": ({"conv": "kmeans2", "dw": "binary", "*": qq.TernaryQuantizer("optimal")},
              {"conv": "kmeans2", "dw": "binary", "fc": "ternary"}),
}


@pytest.fixture(scope="module", params=list(CASES))
def case(request):
    spec, expected = CASES[request.param]
    m = trained(spec)
    return m, qat.to_graph(m), expected


def test_export_marks_encoding_and_runs_lowbit_kernels(case):
    from tinygen.compiler import lower

    m, g, expected = case
    tensors = encodings(g)
    assert {name: t.encoding for name, t in tensors.items()} == expected
    for name, t in tensors.items():
        assert t.dtype == "int8" and wq.allowed(t.data, t.encoding)
        assert len(t.quant.scale) == t.shape[3 if name == "dw" else 0]  # one scale per output channel
        assert t.quant.axis == (3 if name == "dw" else 0)
    kernels = {lop.op.name: lop.c_function for lop in lower(g) if lop.op.kind in WEIGHTED}
    assert all(k.endswith(("_lb", "_lbx", "_usad", "_usad_t")) for k in kernels.values()), kernels


def test_c_equals_reference_and_agrees_with_fake_quant(case):
    m, g, _ = case
    x, _ = data(24, seed=3)
    xq = quantized(g, x)
    ref = np.stack([run_reference(g, [s[None]])[0].reshape(-1) for s in xq])
    c = np.stack([run_c(g, [s[None]])[0].reshape(-1) for s in xq])
    np.testing.assert_array_equal(c, ref)
    out = g.tensors[g.outputs[0]]
    deq = (c.astype(np.float32) - out.zero_point) * out.scale
    fake = m.predict(x, verbose=0)
    # the fake-quant model rounds in float where the kernels requantize in fixed point: a little slack
    assert np.mean(np.abs(fake - deq)) < 3 * out.scale
    assert np.mean(np.argmax(fake, 1) == np.argmax(deq, 1)) >= 0.9


def test_compile_report_lists_schemes(tmp_path):
    import tinygen

    m = qat.quantize_model(tiny_model(), weights={"conv": "int4", "*": "binary"})
    qat.calibrate(m, data(16)[0])  # ranges only: export needs no training
    result = tinygen.compile(m, tmp_path / "out", firmware=False)
    assert result.report["weight_schemes"] == {"conv": "int4", "dw": "binary", "fc": "binary"}


def test_int8_and_int6_stay_plain_int8_and_int2_is_ternary():
    assert qq.IntQuantizer(8).encoding is None and qq.IntQuantizer(6).encoding is None
    assert qq.IntQuantizer(4).encoding == "int4" and qq.IntQuantizer(3).encoding == "int4"
    assert qq.IntQuantizer(2).encoding == "ternary"


def test_kmeans_quantizer_starts_from_ptq_kmeans_and_saves_codebook(tmp_path):
    m = qat.quantize_model(tiny_model(), weights="kmeans3")
    layer = m.get_layer("conv")
    q = layer.weight_quantizer
    assert q is not m.get_layer("fc").weight_quantizer  # per-layer codebooks
    k2, _ = layer.folded()
    k2 = keras.ops.convert_to_numpy(k2)
    codes, scale = (keras.ops.convert_to_numpy(v) for v in q.quantize(keras.ops.convert_to_tensor(k2), 1))
    ptq = wq.quantize(k2, 1, "kmeans3")
    assert len(q.codebook) <= 8 and set(np.unique(codes)) <= set(q.codebook)
    assert np.mean(codes == ptq.values) > 0.95  # float32 vs float64 may flip a tie
    np.testing.assert_allclose(scale, ptq.scales, rtol=1e-3)
    x, _ = data(16)
    qat.calibrate(m, x)
    m.save(tmp_path / "km.keras")
    loaded = keras.models.load_model(tmp_path / "km.keras")
    assert loaded.get_layer("conv").weight_quantizer.codebook == q.codebook
    np.testing.assert_array_equal(m.predict(x, verbose=0), loaded.predict(x, verbose=0))


def test_optimal_ternary_matches_ptq_threshold():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(27, 5)).astype(np.float32)
    codes, scale = (keras.ops.convert_to_numpy(v) for v in
                    qq.TernaryQuantizer("optimal").quantize(keras.ops.convert_to_tensor(w), 1))
    ref = wq.quantize(w, 1, "ternary")
    np.testing.assert_array_equal(codes, ref.values)
    np.testing.assert_allclose(scale, ref.scales, rtol=1e-5)


def test_unknown_layer_in_table_is_named():
    from tinygen.errors import UnsupportedError

    with pytest.raises(UnsupportedError, match="'nope'"):
        qat.quantize_model(tiny_model(), weights={"nope": "int4"})
    with pytest.raises(ValueError, match="bits=9"):
        qat.quantize_model(tiny_model(), weights={"conv": "kmeans9"})
