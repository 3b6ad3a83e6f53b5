"""Float Keras LSTMs through tinygen's PTQ: float import == Keras, C == NumPy reference == TFLM on the
exported .tflite (int8 and 16x8), a stateful LSTM over a sequence of invokes and after a reset, and the
int8 error against the float model next to TF's converter's on the same calibration data.

TF's converter cannot take a Keras 3 LSTM (its loop does not fuse), so its int8 model is made from a TF
twin of each Keras model: the same weights, the non-recurrent layers called as they are, each LSTM as
the fused-LSTM function of tests/lstm_models.py in a concrete function of batch 1.
"""
from __future__ import annotations

import numpy as np
import pytest

from oracle import tflm_interpreter, tflm_run, tflm_run_with
from tinygen.compiler import load_model, lower, quantize
from tinygen.quant import float_ref
from tinygen.verify.export_tflite import to_bytes
from tinygen.verify.testing import host_model_for, run_reference

STEPS, FEATURES = 10, 4
N_CALIB, N_TEST = 64, 24


def _model(key: str):
    import keras

    keras.utils.set_random_seed(7)
    L = keras.layers
    stateful = key == "stateful"
    x = keras.Input((STEPS, FEATURES), batch_size=1)
    if key == "sequences":
        y = L.Dense(3)(L.LSTM(8, return_sequences=True)(x))
    elif key == "last":
        y = L.Dense(3)(L.LSTM(8)(x))
    elif key == "backwards":
        y = L.LSTM(8, return_sequences=True, go_backwards=True)(x)
    elif key == "bidir_concat":
        y = L.Dense(3)(L.Bidirectional(L.LSTM(6, return_sequences=True), merge_mode="concat")(x))
    elif key == "bidir_sum":
        y = L.Bidirectional(L.LSTM(6), merge_mode="sum")(x)
    elif key == "stacked":
        y = L.Dense(3)(L.LSTM(6)(L.LSTM(8, return_sequences=True)(x)))
    elif key == "conv":
        y = L.Dense(3)(L.LSTM(8)(L.Conv1D(8, 3, activation="relu")(x)))
    elif stateful:
        y = L.Dense(3)(L.LSTM(8, stateful=True)(x))
    else:
        raise ValueError(key)
    return keras.Model(x, y, name=key)


KEYS = ("sequences", "last", "backwards", "bidir_concat", "bidir_sum", "stacked", "conv")


def _data(seed: int, n: int) -> np.ndarray:
    """Smooth random sequences (a random walk plus noise), like sensor windows."""
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.normal(0, 0.4, (n, STEPS, FEATURES)), axis=1)
    return (walk + rng.normal(0, 0.2, walk.shape)).astype(np.float32)


@pytest.fixture(scope="module")
def built():
    cache = {}

    def get(key: str, mode: str = "int8"):
        if (key, mode) not in cache:
            m = _model(key)
            g = load_model(m)
            q = quantize(g, _data(0, N_CALIB), activations=mode)
            cache[key, mode] = (m, g, q, lower(q), host_model_for(q), to_bytes(q))
        return cache[key, mode]
    return get


def _quantize_input(q, x: np.ndarray) -> np.ndarray:
    t = q.tensors[q.inputs[0]]
    info = np.iinfo(t.dtype)
    v = np.floor(np.abs(x / np.float32(t.scale)) + 0.5) * np.sign(x) + t.zero_point
    return np.clip(v, info.min, info.max).astype(t.dtype).reshape(t.shape)


def _dequantize(q, y: np.ndarray) -> np.ndarray:
    t = q.tensors[q.outputs[0]]
    return (y.astype(np.float32) - t.zero_point) * np.float32(t.scale)


@pytest.mark.parametrize("key", KEYS)
def test_float_import_equals_keras(key):
    m = _model(key)
    x = _data(5, 8)
    want = np.asarray(m.predict(x, batch_size=1, verbose=0))
    got = float_ref.run_batch(load_model(m), [x])[0]
    assert np.abs(got.reshape(want.shape) - want).max() < 1e-5


def _check_c_ref_tflm(built, key: str, mode: str) -> None:
    _, _, q, lowered, model, tfl = built(key, mode)
    kinds = [op.kind.value for op in q.ops]
    assert kinds.count("UNIDIRECTIONAL_SEQUENCE_LSTM") == (2 if key.startswith("bidir") or key == "stacked" else 1)
    for k, x in enumerate(_data(9, 6)):
        xi = _quantize_input(q, x)
        model.reset()
        (got,) = model([xi])
        (ref,) = run_reference(q, [xi], lowered)
        (want,) = tflm_run(tfl, [xi])
        assert np.asarray(got).reshape(want.shape).tobytes() == want.tobytes(), f"{key} {mode} sample {k}: C != TFLM"
        assert np.asarray(ref).reshape(want.shape).tobytes() == want.tobytes(), f"{key} {mode} sample {k}: ref != TFLM"


@pytest.mark.parametrize("key", KEYS)
def test_int8_c_equals_reference_and_tflm(built, key):
    _check_c_ref_tflm(built, key, "int8")


@pytest.mark.parametrize("key", ("sequences", "bidir_concat", "conv"))
def test_int16_c_equals_reference_and_tflm(built, key):
    _check_c_ref_tflm(built, key, "int16")


@pytest.mark.parametrize("merge", ["mul", "ave"])
def test_bidirectional_mul_and_ave(merge):
    """The other two merge modes (ave without biases): float == Keras, int8 C == reference == TFLM."""
    import keras

    keras.utils.set_random_seed(3)
    x = keras.Input((STEPS, FEATURES), batch_size=1)
    inner = keras.layers.LSTM(5, return_sequences=True, use_bias=merge == "mul")
    m = keras.Model(x, keras.layers.Bidirectional(inner, merge_mode=merge)(x))
    g = load_model(m)
    xs = _data(4, 4)
    want = np.asarray(m.predict(xs, batch_size=1, verbose=0))
    assert np.abs(float_ref.run_batch(g, [xs])[0].reshape(want.shape) - want).max() < 1e-5
    q = quantize(g, _data(0, 32))
    model, lowered, tfl = host_model_for(q), lower(q), to_bytes(q)
    for x1 in xs:
        xi = _quantize_input(q, x1)
        model.reset()
        (want_q,) = tflm_run(tfl, [xi])
        assert np.asarray(model([xi])[0]).reshape(want_q.shape).tobytes() == want_q.tobytes()
        assert np.asarray(run_reference(q, [xi], lowered)[0]).reshape(want_q.shape).tobytes() == want_q.tobytes()


@pytest.mark.parametrize("layer, why", [
    ("relu", "activation='relu' is not supported"),
    ("hard_sigmoid", "recurrent_activation='hard_sigmoid' is not supported"),
    ("state", "3 outputs are not supported"),  # return_state: refused by the frontend before the converter
    ("merge_none", "2 outputs are not supported")])
def test_refused_layers_name_the_layer(layer, why):
    import keras

    from tinygen.errors import UnsupportedError

    L = keras.layers
    x = keras.Input((STEPS, FEATURES), batch_size=1)
    if layer == "relu":
        y = L.LSTM(4, activation="relu", name="odd")(x)
    elif layer == "hard_sigmoid":
        y = L.LSTM(4, recurrent_activation="hard_sigmoid", name="odd")(x)
    elif layer == "state":
        y = L.LSTM(4, return_state=True, name="odd")(x)[0]
    else:
        y = L.Concatenate()(L.Bidirectional(L.LSTM(4), merge_mode=None, name="odd")(x))
    with pytest.raises(UnsupportedError) as e:
        load_model(keras.Model(x, y))
    msg = str(e.value)
    assert "'odd'" in msg and why in msg and "\n" not in msg, msg


def test_stateful_sequence_and_reset(built):
    """60 invokes through one TFLM interpreter, the C model and one reference state, no reset between them;
    then after the C model's reset against a fresh interpreter. The state does carry: the same input
    gives different outputs on consecutive invokes."""
    from tinygen.memory.state import initial_state

    m, _, q, lowered, model, tfl = built("stateful")
    assert all(q.tensors[t].variable for op in q.ops if op.kind.value == "UNIDIRECTIONAL_SEQUENCE_LSTM"
               for t in op.inputs[-2:])
    xs = [_quantize_input(q, x) for x in _data(11, 60)]
    for label, run in (("no reset", xs), ("after reset", xs[:12])):
        model.reset()
        interp, state, outs = tflm_interpreter(tfl), initial_state(q), []
        for k, xi in enumerate(run):
            (want,) = tflm_run_with(interp, [xi], 1)
            (got,) = model([xi])
            (ref,) = run_reference(q, [xi], lowered, state=state)
            assert np.asarray(got).reshape(want.shape).tobytes() == want.tobytes(), f"{label}: invoke {k} C != TFLM"
            assert np.asarray(ref).reshape(want.shape).tobytes() == want.tobytes(), f"{label}: invoke {k} ref"
            outs.append(want)
    model.reset()
    first, second = model([xs[0]])[0], model([xs[0]])[0]
    assert np.asarray(first).tobytes() != np.asarray(second).tobytes()


# ---- against TF's converter ------------------------------------------------------------------------


def _weights(m) -> dict:
    """id(layer) -> its weights as NumPy arrays, Bidirectional's inner layers included (read eagerly)."""
    layers = list(m.layers) + [getattr(lay, p) for lay in m.layers for p in ("forward_layer", "backward_layer")
                               if hasattr(lay, p)]
    return {id(lay): [np.asarray(w, np.float32) for w in lay.get_weights()] for lay in layers}


def _tf_lstm(x, layer, go_backwards: bool, return_sequences: bool, w: dict):
    import tensorflow as tf
    from lstm_models import _lstm_fn

    kernel, recurrent, bias = (tf.constant(a) for a in w[id(layer)])
    units = int(layer.get_config()["units"])
    if go_backwards:
        x = tf.reverse(x, [1])
    zeros = tf.zeros([1, units])
    last, seq, _, _, _ = _lstm_fn(False)(x, zeros, zeros, kernel, recurrent, bias)
    return seq if return_sequences else last


def _tf_layer(layer, x, w: dict):
    import tensorflow as tf

    cls, cfg = type(layer).__name__, layer.get_config()
    if cls == "LSTM":
        return _tf_lstm(x, layer, cfg["go_backwards"], cfg["return_sequences"], w)
    if cls == "Bidirectional":
        seq = layer.forward_layer.get_config()["return_sequences"]
        fwd = _tf_lstm(x, layer.forward_layer, False, seq, w)
        bwd = _tf_lstm(x, layer.backward_layer, True, seq, w)
        bwd = tf.reverse(bwd, [1]) if seq else bwd
        return tf.concat([fwd, bwd], -1) if cfg["merge_mode"] == "concat" else fwd + bwd
    k, b = (tf.constant(a) for a in w[id(layer)])
    if cls == "Dense":
        return tf.tensordot(x, k, 1) + b
    assert cls == "Conv1D" and cfg["activation"] == "relu", cls
    return tf.nn.relu(tf.nn.conv1d(x, k, 1, "VALID") + b)


def tf_int8(m, calib: np.ndarray) -> bytes:
    """TF's full-integer int8 conversion of a TF twin of Keras model `m` (module docstring); the twin
    computes what `m` does (checked on two calibration samples)."""
    import tensorflow as tf

    w = _weights(m)

    @tf.function(input_signature=[tf.TensorSpec([1, STEPS, FEATURES], tf.float32)])
    def run(x):
        for layer in m.layers[1:]:
            x = _tf_layer(layer, x, w)
        return x

    for c in calib[:2]:
        want = np.asarray(m.predict(c[None], verbose=0))
        assert np.abs(run(tf.constant(c[None])).numpy().reshape(want.shape) - want).max() < 1e-5, m.name
    holder = tf.Module()  # with a trackable object the converter keeps the LSTM functions to fuse them
    holder.run = run
    conv = tf.lite.TFLiteConverter.from_concrete_functions([run.get_concrete_function()], holder)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([c[None]] for c in calib)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int8
    return conv.convert()


def _tflite_params(model: bytes, output: bool) -> tuple:
    interp = tflm_interpreter(model)
    d = interp.get_output_details(0) if output else interp.get_input_details(0)
    return float(d["quantization_parameters"]["scales"][0]), int(d["quantization_parameters"]["zero_points"][0])


def _tf_self_consistent(tfl: bytes) -> bool:
    """False when TF's model gives a value-copying op (REVERSE_V2) other output parameters than its input's:
    TFLM copies the bytes, so the values are misread (TF's converter does this to the REVERSE_V2 that turns
    a backward LSTM's sequence back in Bidirectional concat); tinygen's validator refuses such a model."""
    import tempfile

    from tinygen.errors import UnsupportedError

    with tempfile.NamedTemporaryFile(suffix=".tflite") as f:
        f.write(tfl)
        f.flush()
        try:
            load_model(f.name)
        except UnsupportedError as e:
            assert "REVERSE_V2" in str(e), e
            return False
    return True


def test_int8_error_no_worse_than_tf_converter(built):
    """Mean |int8 - float| over held-out sequences, tinygen against TF's converter (same calibration):
    the mean ratio over the models must be <= 1.02, and no model worse than 1.2x. A model TF's converter
    gets wrong (`_tf_self_consistent`: only bidir_concat) is reported but left out of the mean."""
    calib, test = _data(0, N_CALIB), _data(3, N_TEST)
    ratios, rows, left_out = [], [], []
    for key in KEYS:
        m, _, q, lowered, _, _ = built(key)
        want = np.asarray(m.predict(test, batch_size=1, verbose=0))
        tfl = tf_int8(m, calib)
        (si, zi), (so, zo) = _tflite_params(tfl, False), _tflite_params(tfl, True)
        ours, theirs = [], []
        for k, x in enumerate(test):
            (y,) = run_reference(q, [_quantize_input(q, x)], lowered)
            ours.append(np.abs(_dequantize(q, np.asarray(y)).reshape(want[k].shape) - want[k]).mean())
            xi = np.clip(np.floor(np.abs(x / np.float32(si)) + 0.5) * np.sign(x) + zi, -128, 127).astype(np.int8)
            (t,) = tflm_run(tfl, [xi[None]])
            theirs.append(np.abs((t.astype(np.float32) - zo) * np.float32(so) - want[k][None]).mean())
        ratio = np.mean(ours) / np.mean(theirs)
        rows.append(f"{key}: tinygen {np.mean(ours):.5f} TF {np.mean(theirs):.5f} ratio {ratio:.3f}")
        if _tf_self_consistent(tfl):
            ratios.append(ratio)
        else:
            left_out.append(key)
            rows[-1] += " (TF's model misreads a REVERSE_V2: left out)"
    print("\n" + "\n".join(rows) + f"\nmean ratio {np.mean(ratios):.3f} over {len(ratios)} models")
    assert left_out == ["bidir_concat"], left_out
    assert np.mean(ratios) <= 1.02 and max(ratios) <= 1.2, rows


def test_int16_error_below_int8(built):
    """16x8 (TF's converter does not write it for an LSTM; TFLM runs it): mean |error| against the float
    model on the held-out sequences, below the int8 error on every model (printed with -s)."""
    calib, test = _data(0, N_CALIB), _data(3, N_TEST)
    rows = []
    for key in KEYS:
        m, g, q8, lowered8, _, _ = built(key)
        q16 = quantize(g, calib, activations="int16")
        want = np.asarray(m.predict(test, batch_size=1, verbose=0))
        errs = []
        for q, lowered in ((q8, lowered8), (q16, lower(q16))):
            ys = [np.asarray(run_reference(q, [_quantize_input(q, x)], lowered)[0]) for x in test]
            errs.append(np.mean([np.abs(_dequantize(q, y).reshape(w.shape) - w).mean() for y, w in zip(ys, want)]))
        rows.append(f"{key}: int8 {errs[0]:.5f} 16x8 {errs[1]:.5f}")
        assert errs[1] < errs[0], rows[-1]
    print("\n" + "\n".join(rows))


def test_state_note_for_non_stateful_layers():
    """A non-stateful LSTM warns that its state carries over between invokes (as in TFLite); stateful=True,
    which asks for exactly that, does not."""
    from tinygen.frontend.keras_recurrent import STATE_NOTE

    notes = [w for w in load_model(_model("stacked")).warnings if STATE_NOTE in w]
    assert len(notes) == 1 and notes[0].startswith("layer 'lstm"), notes  # once per model, naming a layer
    assert not [w for w in load_model(_model("stateful")).warnings if STATE_NOTE in w]


def test_shared_lstm_runs_twice_from_zero():
    """One LSTM layer called on two tensors: two ops with their own states and names; float == Keras."""
    import keras

    keras.utils.set_random_seed(5)
    x = keras.Input((STEPS, FEATURES), batch_size=1)
    shared = keras.layers.LSTM(4, name="shared")
    m = keras.Model(x, keras.layers.Add()([shared(x), shared(keras.layers.Dense(FEATURES)(x))]))
    g = load_model(m)
    lstms = [op for op in g.ops if op.kind.value == "UNIDIRECTIONAL_SEQUENCE_LSTM"]
    assert [op.name for op in lstms] == ["shared", "shared_1"] and len({op.inputs[13] for op in lstms}) == 2
    xs = _data(6, 3)
    assert np.abs(float_ref.run_batch(g, [xs])[0] - m.predict(xs, batch_size=1, verbose=0)).max() < 1e-5
