"""Keras frontend + float reference: shared MLPerf models and small models against model.predict."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

import keras

from tinygen.quant import float_ref  # noqa: E402
from tinygen.errors import ModelFormatError, UnsupportedError  # noqa: E402
from tinygen.frontend.keras import _load, load_keras  # noqa: E402
from tinygen.ir import OpKind  # noqa: E402

MODELS = Path(__file__).resolve().parents[2].parent / "shared" / "models"
L = keras.layers


def shared_inputs(name: str, shape: tuple) -> np.ndarray:
    """Realistic float inputs for each shared model (real data where the folder has it)."""
    rng = np.random.default_rng(1)
    if name.startswith("ad/"):
        return np.load(MODELS / "mlperf/ad/sample_windows_float32.npy")[:8]
    if name.startswith("sww/"):
        data = np.load(MODELS / "mlperf/sww/calibration_samples.npz")
        return np.asarray(data[data.files[0]], np.float32)[:8].reshape((-1,) + shape)
    if name.startswith("ic/"):
        return rng.uniform(0, 255, (4,) + shape).astype(np.float32)
    if name.startswith("vww/"):
        return rng.uniform(0, 1, (4,) + shape).astype(np.float32)
    return rng.standard_normal((4,) + shape).astype(np.float32)


SHARED = ["kws/kws_ref_model_rebuilt.keras", "vww/vww_96.h5", "ic/pretrainedResnet.h5", "ad/ad01.h5",
          "sww/str_ww_ref_model.h5"]


def assert_close(out, ref):
    scale = max(1.0, float(np.abs(ref).max()))
    np.testing.assert_allclose(out, ref, rtol=0, atol=3e-4 * scale)


@pytest.mark.parametrize("name", SHARED)
def test_shared_model_matches_predict(name):
    path = MODELS / "mlperf" / name
    if not MODELS.is_dir():
        pytest.skip("shared models folder is absent")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    model = _load(path)
    graph = load_keras(model)
    assert graph.tensors[graph.inputs[0]].shape[0] == 1
    x = shared_inputs(name, graph.tensors[graph.inputs[0]].shape[1:])
    ref = model.predict(x, verbose=0)
    assert_close(float_ref.run_batch(graph, [x])[0], ref)
    # one sample through the single-sample entry point
    assert_close(float_ref.run(graph, [x[0]])[0], ref[:1])
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, "the user's file was modified"


def test_load_from_path_names_ops_after_layers():
    if not MODELS.is_dir():
        pytest.skip("shared models folder is absent")
    graph = load_keras(MODELS / "mlperf/ad/ad01.h5")
    assert graph.source.endswith("ad01.h5")
    names = {op.name for op in graph.ops}
    assert {"dense", "batch_normalization", "activation", "dense_9"} <= names


def _check(model, x):
    graph = load_keras(model)
    assert_close(float_ref.run_batch(graph, [x])[0], model.predict(x, verbose=0))
    return graph


def _randomize_bn(model):
    rng = np.random.default_rng(3)
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            g, b, m, v = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, g.shape), rng.normal(0, 0.3, b.shape),
                               rng.normal(0, 0.3, m.shape), rng.uniform(0.5, 2.0, v.shape)])


def test_small_cnn_layers():
    inp = keras.Input((12, 10, 3))
    x = L.Conv2D(8, 3, strides=2, padding="same", activation="relu")(inp)
    x = L.BatchNormalization()(x)
    x = L.DepthwiseConv2D(3, depth_multiplier=2, dilation_rate=2, padding="same")(x)
    x = L.ReLU(max_value=6.0)(x)
    x = L.SeparableConv2D(6, 3, padding="valid", activation="tanh")(x)
    x = L.ZeroPadding2D(((1, 0), (2, 1)))(x)
    a = L.MaxPooling2D(2, padding="same")(x)
    b = L.AveragePooling2D(2, padding="same")(x)
    x = L.Concatenate()([L.Add()([a, b]), L.Multiply()([a, b]), L.Subtract()([a, b])])
    x = L.LeakyReLU(negative_slope=0.1)(x)
    x = L.Activation("hard_swish")(x)
    x = L.Dropout(0.5)(x)
    g = L.GlobalAveragePooling2D()(x)
    m = L.GlobalMaxPooling2D()(x)
    x = L.Concatenate()([g, m])
    x = L.Dense(5, activation="softmax")(x)
    model = keras.Model(inp, x)
    _randomize_bn(model)
    x = np.random.default_rng(0).standard_normal((3, 12, 10, 3)).astype(np.float32)
    graph = _check(model, x)
    assert OpKind.MEAN in {op.kind for op in graph.ops}
    assert all(t.dtype == "float32" for t in graph.tensors.values())


def test_1d_and_sequential_layers():
    model = keras.Sequential([
        keras.Input((20, 4)),
        L.Conv1D(6, 3, padding="causal", dilation_rate=2, activation="relu"),
        L.Conv1D(5, 3, strides=2, padding="same"),
        L.ZeroPadding1D((2, 1)),
        L.MaxPooling1D(2),
        L.AveragePooling1D(2, strides=1, padding="same"),
        L.Dense(7, activation="sigmoid"),  # Dense over the last axis of a 3-D input
        L.Reshape((7, -1)),
        L.Flatten(),
        L.Dense(3),
    ])
    x = np.random.default_rng(0).standard_normal((3, 20, 4)).astype(np.float32)
    graph = _check(model, x)
    fcs = [op for op in graph.ops if op.kind == OpKind.FULLY_CONNECTED]
    assert fcs[0].attrs.keep_num_dims and not fcs[1].attrs.keep_num_dims
    gap = keras.Sequential([keras.Input((9, 4)), L.GlobalAveragePooling1D(), L.Dense(2)])
    _check(gap, x[:, :9, :])


def test_weight_layouts():
    model = keras.Sequential([keras.Input((5, 5, 3)), L.Conv2D(4, (3, 2), name="c"),
                              L.DepthwiseConv2D(3, depth_multiplier=2, name="dw"), L.Flatten(), L.Dense(6, name="d")])
    graph = load_keras(model)
    w = {op.name: graph.tensors[op.inputs[1]].shape for op in graph.ops if len(op.inputs) > 1}
    assert w == {"c": (4, 3, 2, 3), "dw": (1, 3, 3, 8), "d": (6, 16)}  # 5x5 -> 3x4 -> 1x2 pixels x 8 channels


def test_unsupported_layer_is_named():
    model = keras.Sequential([keras.Input((5, 6, 3)), L.ConvLSTM1D(2, 3, name="clstm_1")])  # (LSTM compiles)
    with pytest.raises(UnsupportedError, match=r"layer 'clstm_1' \(ConvLSTM1D\) is not supported"):
        load_keras(model)


def test_unsupported_configs_are_named():
    grouped = keras.Sequential([keras.Input((6, 4)), L.Conv1D(4, 3, groups=2, name="gconv")])
    with pytest.raises(UnsupportedError, match=r"'gconv' \(Conv1D\): groups=2"):
        load_keras(grouped)
    cf = keras.Sequential([keras.Input((4, 6, 6)), L.MaxPooling2D(2, data_format="channels_first", name="p")])
    with pytest.raises(UnsupportedError, match="'p'.*channels_first"):
        load_keras(cf)
    act = keras.Sequential([keras.Input((4,)), L.Activation("glu", name="e")])
    with pytest.raises(UnsupportedError, match="'e'.*glu"):
        load_keras(act)


def test_missing_file():
    with pytest.raises(ModelFormatError, match="no such"):
        load_keras("/nonexistent/model.h5")
