"""export_tflite as an outside oracle: TFLM running the exported file equals tinygen's generated C, byte for byte.

Round trip per shared int8 model: load -> compile -> export -> TFLM == our C on 20 inputs (18 random,
all-min, all-max), plus a small Keras CNN quantized by tinygen's own PTQ.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import tinygen
from oracle import INT8_MODELS, tflm_interpreter
from tinygen.ir import serialize
from tinygen.ir import validate
from tinygen.errors import TinygenError
from tinygen.verify.export_tflite import export_tflite, to_bytes
from tinygen.frontend.tflite import load_tflite


N_INPUTS = 20


def sample_inputs(info: dict, n: int = N_INPUTS, seed: int = 0) -> np.ndarray:
    """(n, *shape) of the input dtype: n-2 random over the full range, then all-min and all-max."""
    dt = np.dtype(info["dtype"])
    shape = tuple(info["shape"])
    rng = np.random.default_rng(seed)
    if dt.kind == "f":
        xs = [rng.standard_normal(shape).astype(dt) for _ in range(n - 2)]
        xs += [np.full(shape, -3.0, dt), np.full(shape, 3.0, dt)]
    else:
        lo, hi = np.iinfo(dt).min, np.iinfo(dt).max
        xs = [rng.integers(lo, hi + 1, size=shape, dtype=np.int64).astype(dt) for _ in range(n - 2)]
        xs += [np.full(shape, lo, dt), np.full(shape, hi, dt)]
    return np.stack(xs)


def tflm_outputs(tfl: bytes, xs: list, n_outputs: int) -> list:
    """Run every sample through TFLM; one (N, *shape) array per output."""
    interp = tflm_interpreter(tfl)
    outs = [[] for _ in range(n_outputs)]
    for i in range(len(xs[0])):
        for k, x in enumerate(xs):
            interp.set_input(x[i], k)
        interp.invoke()
        for k in range(n_outputs):
            outs[k].append(np.array(interp.get_output(k)))
    return [np.stack(o) for o in outs]


def assert_tflm_equals_c(out_dir, tfl_path) -> None:
    result_inputs = [dict(shape=i["shape"], dtype=i["dtype"]) for i in _manifest(out_dir)["inputs"]]
    xs = [sample_inputs(info, seed=k) for k, info in enumerate(result_inputs)]
    n_out = len(_manifest(out_dir)["outputs"])
    ours = tinygen.run(out_dir, [x.reshape((len(x),) + _sample(info["shape"])) for x, info in zip(xs, result_inputs)])
    ref = tflm_outputs(tfl_path.read_bytes(), xs, n_out)
    for k in range(n_out):
        a, b = ours[k].reshape(ref[k].shape), ref[k]
        assert a.dtype == b.dtype
        differing = int(np.count_nonzero(a != b))
        assert differing == 0, f"output {k}: {differing} of {b.size} values differ from TFLM on the export"


def _manifest(out_dir) -> dict:
    import json
    return json.loads((out_dir / "tinygen.json").read_text())


def _sample(shape) -> tuple:
    shape = tuple(shape)
    return shape[1:] if shape and shape[0] == 1 else shape


@pytest.mark.parametrize("key", sorted(INT8_MODELS))
def test_roundtrip_shared_model(key, models_dir, tmp_path):
    out = tmp_path / "out"
    tinygen.compile(str(models_dir / INT8_MODELS[key]), out, name=key, firmware=False)
    tfl = export_tflite(out, tmp_path / f"{key}.tflite")
    # tinygen's own reader accepts the export and sees the same ops
    saved = serialize.load(out / ".tinygen")
    assert [op.kind for op in load_tflite(tfl).ops] == [op.kind for op in saved.ops]
    assert_tflm_equals_c(out, tfl)


def test_export_from_graph_is_deterministic(models_dir):
    g = tinygen.compiler.load_model(models_dir / INT8_MODELS["hello_world"])
    assert to_bytes(g) == to_bytes(g)
    assert to_bytes(g)[4:8] == b"TFL3"


def test_export_without_saved_graph_is_an_error(tmp_path):
    with pytest.raises(TinygenError, match="no saved graph"):
        export_tflite(tmp_path, tmp_path / "x.tflite")


def test_explicit_padding_becomes_pad_op(models_dir, tmp_path):
    """A conv whose padding is neither SAME nor VALID is exported as PAD + VALID conv, still bit-exact."""
    import dataclasses

    from tinygen import ir
    from tinygen.compiler import generate

    g = tinygen.compiler.load_model(models_dir / INT8_MODELS["kws"])
    conv = next(op for op in g.ops if op.kind == ir.OpKind.CONV_2D)
    x = g.tensors[conv.inputs[0]]
    w = g.tensors[conv.inputs[1]]
    a = conv.attrs
    pad = ir.Padding(1, 0, 0, 2)  # asymmetric on purpose
    oh = (x.shape[1] + 1 - ((w.shape[1] - 1) * a.dilation_h + 1)) // a.stride_h + 1
    ow = (x.shape[2] + 2 - ((w.shape[2] - 1) * a.dilation_w + 1)) // a.stride_w + 1
    # keep it a one-op model: input -> conv
    out_t = g.tensors[conv.outputs[0]]
    out_t.shape = (1, oh, ow, w.shape[0])
    conv.attrs = dataclasses.replace(a, padding=pad)
    g.ops = [conv]
    g.inputs, g.outputs = [conv.inputs[0]], [conv.outputs[0]]
    g.remove_unused_tensors()
    data = to_bytes(g)
    kinds = [op.kind for op in load_tflite(data).ops]
    assert kinds == [ir.OpKind.PAD, ir.OpKind.CONV_2D]
    out = tmp_path / "out"
    tinygen.compile(g, out, name="padconv", firmware=False)
    tfl = tmp_path / "padconv.tflite"
    tfl.write_bytes(data)
    assert generate(g).files  # our C for the original explicit-padding graph
    assert_tflm_equals_c(out, tfl)


def test_keras_cnn_quantized_by_tinygen(tmp_path):
    import keras
    L = keras.layers
    keras.utils.set_random_seed(3)
    model = keras.Sequential([
        keras.Input((12, 12, 3)),
        L.Conv2D(8, 3, padding="same", activation="relu"),
        L.DepthwiseConv2D(3, strides=2, padding="same", activation="relu6"),
        L.Conv2D(12, 1, padding="valid"),
        L.MaxPooling2D(2),
        L.AveragePooling2D(1),
        L.Flatten(),
        L.Dense(16, activation="relu"),
        L.Dense(5),
        L.Softmax(),
    ])
    rng = np.random.default_rng(0)
    calib = rng.standard_normal((32, 12, 12, 3)).astype(np.float32)
    out = tmp_path / "out"
    tinygen.compile(model, out, calibration=calib, name="cnn", firmware=False)
    validate.check(serialize.load(out / ".tinygen"))  # PTQ output passes the hostile-model checks too
    tfl = export_tflite(out, tmp_path / "cnn.tflite")
    assert_tflm_equals_c(out, tfl)


def test_keras_branchy_model_quantized_by_tinygen(tmp_path):
    """ADD, MUL, CONCATENATION, PAD, MEAN, LEAKY_RELU, LOGISTIC, TANH, HARD_SWISH through export and TFLM."""
    import keras
    L = keras.layers
    keras.utils.set_random_seed(4)
    x = keras.Input((10, 10, 4))
    a = L.Conv2D(6, 3, padding="same")(x)
    a = L.LeakyReLU(negative_slope=0.1)(a)
    b = L.ZeroPadding2D(((1, 0), (0, 1)))(x)
    b = L.Conv2D(6, 2, padding="valid", activation="tanh")(b)
    c = L.Add()([a, b])
    d = L.Multiply()([c, L.Activation("sigmoid")(a)])
    e = L.Concatenate()([d, L.Activation("hard_swish")(b)])
    y = L.GlobalAveragePooling2D()(e)
    y = L.Dense(3)(y)
    model = keras.Model(x, y)
    calib = np.random.default_rng(1).standard_normal((32, 10, 10, 4)).astype(np.float32)
    out = tmp_path / "out"
    tinygen.compile(model, out, calibration=calib, name="branchy", firmware=False)
    tfl = export_tflite(out, tmp_path / "branchy.tflite")
    assert_tflm_equals_c(out, tfl)


# ---- tinygen's own PTQ, exported: the digits example and the float MLPerf models ----------------------

_PTQ_CASES = ["digits", "ad", "ic", "kws", "sww", "vww"]


@pytest.mark.parametrize("key", _PTQ_CASES)
def test_ptq_models_exported_run_bit_exact_in_tflm(key, models_dir, tmp_path):
    """The model as tinygen quantized it is a standard .tflite: TFLM equals the generated C on 20 inputs."""
    from oracle import num_outputs, tflm_interpreter, tflm_run_with
    from test_models_keras import PATHS, data_for

    import tinygen
    from tinygen.verify.export_tflite import export_tflite

    root = Path(__file__).resolve().parents[2]
    if key == "digits":
        path, calib = root / "examples/digits_cnn.keras", np.load(root / "examples/digits_calib.npy")
    else:
        path, calib = models_dir / PATHS[key], data_for(key, models_dir)[0]
    out = tmp_path / key
    result = tinygen.compile(str(path), out, calibration=calib, name=key)
    tfl = tmp_path / f"{key}.tflite"
    export_tflite(out, tfl)
    shape = tuple(result.report["inputs"][0]["shape"])
    rng = np.random.default_rng(11)
    xs = [rng.integers(-128, 128, size=shape, dtype=np.int64).astype(np.int8) for _ in range(18)]
    xs += [np.full(shape, -128, np.int8), np.full(shape, 127, np.int8)]
    sample = shape[1:] if shape[0] == 1 else shape
    ours = tinygen.run(out, [np.stack(xs).reshape((len(xs),) + sample)])[0]
    interp, n_out = tflm_interpreter(tfl), num_outputs(tfl)
    differing = sum(int(np.count_nonzero(tflm_run_with(interp, [x], n_out)[0].reshape(-1) != ours[i].reshape(-1)))
                    for i, x in enumerate(xs))
    assert differing == 0, f"{key}: {differing} bytes differ between TFLM on the export and tinygen's C"
