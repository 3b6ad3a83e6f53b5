"""The committed PyTorch example (examples/digits_cnn_torch.onnx, written by examples/torch_digits.py with
torch's TorchScript exporter) through tinygen, and side by side with the same network as a Keras model
with the same weights (the Keras twin is built here from the ONNX initializers; its Dense weights take
Keras' NHWC flatten order). No torch needed.

Checks: the float import equals onnxruntime on the test set; the int8 C equals TFLM on the export and
has no TRANSPOSE; the ONNX build's int8 error and accuracy are those of the Keras twin's build (the two
import to the same graph up to names, so PTQ makes the same choices).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

from tests.oracle import tflm_run
from tinygen.compiler import build, load_model
from tinygen.ir import OpKind
from tinygen.verify.export_tflite import to_bytes
from tinygen.verify.testing import host_model_for

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MODEL = EXAMPLES / "digits_cnn_torch.onnx"
_BUILD = dict(firmware=False, measure_stack=False, compare_tflm_arena=False)


def _data():
    sys.path.insert(0, str(EXAMPLES))
    from digits_data import load_digits_split

    _, _, x_te, y_te = load_digits_split()
    return np.load(EXAMPLES / "digits_calib_nchw.npy"), x_te.transpose(0, 3, 1, 2).copy(), y_te


def _keras_twin():
    import keras
    from keras import layers

    w = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(MODEL)).graph.initializer}
    conv = lambda k: np.transpose(k, (2, 3, 1, 0))  # noqa: E731  (O, I, kh, kw) -> (kh, kw, I, O)
    fc = w["fc.weight"].reshape(10, 32, 4, 4).transpose(2, 3, 1, 0).reshape(512, 10)  # NCHW -> NHWC rows
    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        layers.Conv2D(16, 3, padding="same", activation="relu", name="conv1"),
        layers.MaxPooling2D(2, name="pool1"),
        layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2"),
        layers.DepthwiseConv2D(3, padding="same", activation="relu6", name="dw3"),
        layers.Flatten(name="flatten"),
        layers.Dense(10, name="fc"),
        layers.Softmax(name="softmax"),
    ])
    model.get_layer("conv1").set_weights([conv(w["onnx::Conv_29"]), w["onnx::Conv_30"]])
    model.get_layer("conv2").set_weights([conv(w["conv2.weight"]), w["conv2.bias"]])
    model.get_layer("dw3").set_weights([np.transpose(w["dw3.weight"], (2, 3, 0, 1)), w["dw3.bias"]])
    model.get_layer("fc").set_weights([fc, w["fc.bias"]])
    return model


def _int8_outputs(result, x_stored: np.ndarray) -> np.ndarray:
    g = result.graph
    tin, tout = g.tensors[g.inputs[0]], g.tensors[g.outputs[0]]
    model = host_model_for(g)
    q = np.clip(np.round(x_stored / tin.scale) + tin.zero_point, -128, 127).astype(np.int8)
    return np.stack([(model([s[None]])[0].astype(np.float32).reshape(-1) - tout.zero_point) * tout.scale
                     for s in q])


def test_example_float_import_equals_onnxruntime():
    from tinygen.quant import float_ref

    _, x_te, _ = _data()
    graph = load_model(MODEL)
    want = ort.InferenceSession(str(MODEL), providers=["CPUExecutionProvider"]).run(None, {"input": x_te[:64]})[0]
    got = np.stack([np.asarray(float_ref.run(graph, [x.transpose(1, 2, 0)[None]])[0]).reshape(-1) for x in x_te[:64]])
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_example_int8_equals_tflm_and_matches_its_keras_twin():
    calib, x_te, y_te = _data()
    onnx_build = build(MODEL, calibration=calib, **_BUILD)
    g = onnx_build.graph
    assert not [op for op in g.ops if op.kind == OpKind.TRANSPOSE]
    tflite = to_bytes(g)
    model = host_model_for(g)
    rng = np.random.default_rng(0)
    for _ in range(4):
        xq = rng.integers(-128, 127, size=g.tensors[g.inputs[0]].shape, endpoint=True).astype(np.int8)
        assert model([xq])[0].tobytes() == np.asarray(tflm_run(tflite, [xq])[0]).tobytes()

    twin = _keras_twin()
    keras_build = build(twin, calibration=calib.transpose(0, 2, 3, 1), **_BUILD)
    x_nhwc = x_te.transpose(0, 2, 3, 1)
    float_out = ort.InferenceSession(str(MODEL), providers=["CPUExecutionProvider"]).run(None, {"input": x_te})[0]
    np.testing.assert_allclose(twin.predict(x_nhwc, verbose=0), float_out, rtol=1e-4, atol=1e-5)
    rows = {}
    for name, result in (("onnx", onnx_build), ("keras", keras_build)):
        out = _int8_outputs(result, x_nhwc)
        rows[name] = (float(np.abs(out - float_out).max()), float(np.abs(out - float_out).mean()),
                      float((out.argmax(1) == y_te).mean()))
        print(f"\n{name}: int8 |error| vs float max {rows[name][0]:.4f} mean {rows[name][1]:.5f}, "
              f"int8 accuracy {rows[name][2]:.4f} (float {float((float_out.argmax(1) == y_te).mean()):.4f})")
    assert abs(rows["onnx"][1] - rows["keras"][1]) <= 0.1 * rows["keras"][1] + 1e-4
    assert abs(rows["onnx"][2] - rows["keras"][2]) <= 0.01
    assert rows["onnx"][2] >= float((float_out.argmax(1) == y_te).mean()) - 0.02


def _har_twin(model_proto):
    """The har_1d fixture (tests/onnx_models.py) as a Keras model with the same weights."""
    import keras
    from keras import layers

    w = {i.name: numpy_helper.to_array(i) for i in model_proto.graph.initializer}
    nodes = {t: [n for n in model_proto.graph.node if n.op_type == t] for t in ("Conv", "BatchNormalization", "Gemm")}
    conv = [(w[n.input[1]].transpose(2, 1, 0), w[n.input[2]]) for n in nodes["Conv"]]  # (O, I, k) -> (k, I, O)
    bn = [w[i] for i in nodes["BatchNormalization"][0].input[1:]]  # scale, B, mean, var
    g1, g2 = nodes["Gemm"]
    fc1 = w[g1.input[1]].reshape(32, 16, 8).transpose(2, 1, 0).reshape(128, 32)  # (C, L) columns -> (L, C) rows
    model = keras.Sequential([
        keras.Input((64, 6)),
        layers.Conv1D(12, 5, padding="same", name="c1"), layers.BatchNormalization(epsilon=1e-5, name="bn"),
        layers.ReLU(), layers.MaxPooling1D(2),
        layers.Conv1D(16, 3, padding="same", dilation_rate=2, activation="relu", name="c2"), layers.MaxPooling1D(4),
        layers.Flatten(), layers.Dense(32, activation="relu", name="fc1"), layers.Dense(6, name="fc2")])
    model.get_layer("c1").set_weights(list(conv[0]))
    model.get_layer("c2").set_weights(list(conv[1]))
    model.get_layer("bn").set_weights(bn)
    model.get_layer("fc1").set_weights([fc1, w[g1.input[2]]])
    model.get_layer("fc2").set_weights([w[g2.input[1]].T, w[g2.input[2]]])
    return model


def test_har_1d_int8_error_matches_its_keras_twin(tmp_path):
    """Second side by side: the 1-D conv fixture (BN, dilated conv, NCL flatten into a Linear) and its Keras twin."""
    from tests.onnx_models import har_1d

    proto = har_1d()
    path = tmp_path / "har_1d.onnx"
    onnx.save(proto, str(path))
    rng = np.random.default_rng(0)
    calib, x = (rng.standard_normal((n, 6, 64)).astype(np.float32) for n in (128, 64))
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    float_out = np.concatenate([sess.run(None, {"input": s[None]})[0] for s in x])
    twin = _har_twin(proto)
    np.testing.assert_allclose(twin.predict(x.transpose(0, 2, 1), verbose=0), float_out, rtol=1e-4, atol=1e-4)
    rows = {}
    for name, result in (("onnx", build(path, calibration=calib, **_BUILD)),
                         ("keras", build(twin, calibration=calib.transpose(0, 2, 1), **_BUILD))):
        out = _int8_outputs(result, x.transpose(0, 2, 1))
        rows[name] = (float(np.abs(out - float_out).max()), float(np.abs(out - float_out).mean()))
        print(f"\nhar_1d {name}: int8 |error| vs float max {rows[name][0]:.4f} mean {rows[name][1]:.5f}")
    assert abs(rows["onnx"][1] - rows["keras"][1]) <= 0.1 * rows["keras"][1] + 1e-4
