"""Keras GRU / SimpleRNN models built by tinygen end to end (fixed seeds, Gaussian data):

- the generated C equals the NumPy reference and TFLM on the exported .tflite (the unrolled steps);
- the int8 error against the float Keras model is printed and bounded (docs/quantization.md lists it);
- for the GRU, TF's converter on the same weights (unroll=True: TF's converter crashes on the looped
  Keras 3 GRU) gives the comparison figure, run by TFLM;
- a stateful GRU over 60 invokes then reset: C == reference == TFLM, and close to Keras' stateful predict.
"""
from __future__ import annotations

import numpy as np
import pytest

from tests.oracle import tflm_interpreter, tflm_run
from tinygen.compiler import build, lower
from tinygen.ir import OpKind
from tinygen.verify.export_tflite import to_bytes
from tinygen.verify.sequence import compare_sequence
from tinygen.verify.testing import host_model_for, run_reference

import keras  # noqa: E402
STEPS, FEATURES = 8, 12
ERROR_BOUND = 0.08  # max |int8 - float| as a fraction of the float outputs' range


def _model(name: str, unroll: bool = False):
    keras.utils.set_random_seed(7)
    inp = keras.Input((STEPS, FEATURES), batch_size=1)
    L = keras.layers
    if name == "gru_dense":
        y = L.Dense(4)(L.GRU(16, return_sequences=True, unroll=unroll)(inp))
    elif name == "gru_reset_before_backwards":
        y = L.GRU(12, reset_after=False, go_backwards=True)(inp)
    elif name == "rnn_tanh_then_gru":
        y = L.GRU(8)(L.SimpleRNN(16, return_sequences=True)(inp))
    elif name == "rnn_relu_backwards":
        y = L.SimpleRNN(10, activation="relu", go_backwards=True, return_sequences=True)(inp)
    else:
        y = L.Bidirectional(L.GRU(8, return_sequences=True))(inp)
    return keras.Model(inp, y)


MODELS = ["gru_dense", "gru_reset_before_backwards", "rnn_tanh_then_gru", "rnn_relu_backwards", "bidirectional_gru"]


def _data(n, seed):
    return np.random.default_rng(seed).standard_normal((n, STEPS, FEATURES)).astype(np.float32)


def _q(x, t):
    return np.clip(np.round(x / t.scale) + t.zero_point, -128, 127).astype(np.int8)


def _int8_error(model, graph, x, want) -> tuple:
    tin, tout = graph.tensors[graph.inputs[0]], graph.tensors[graph.outputs[0]]
    got = np.stack([(model([_q(x[i:i + 1], tin)])[0].astype(np.float32) - tout.zero_point) * tout.scale
                    for i in range(len(x))]).reshape(want.shape)
    d = np.abs(got - want)
    return float(d.max()), float(d.mean()), float(want.max() - want.min())


@pytest.mark.parametrize("name", MODELS)
def test_keras_cell_c_equals_reference_and_tflm(name):
    m = _model(name)
    result = build(m, calibration=_data(128, 1), firmware=False, measure_stack=False, compare_tflm_arena=False,
                   check_fit=False)
    graph = result.graph
    assert [op for op in graph.ops if op.kind in (OpKind.GRU, OpKind.RNN)]
    tflite, lowered, model = to_bytes(graph), lower(graph), host_model_for(graph)
    tin = graph.tensors[graph.inputs[0]]
    rng = np.random.default_rng(3)
    samples = [rng.integers(-128, 127, size=tin.shape, endpoint=True).astype(np.int8) for _ in range(3)]
    samples.append(_q(_data(1, 4), tin))
    for k, xq in enumerate(samples):
        want = np.asarray(tflm_run(tflite, [xq])[0]).reshape(-1)
        assert np.asarray(run_reference(graph, [xq], lowered)[0]).reshape(-1).tobytes() == want.tobytes(), k
        assert np.asarray(model([xq])[0]).reshape(-1).tobytes() == want.tobytes(), k
    x = _data(16, 5)
    mx, mean, rng_ = _int8_error(model, graph, x, m.predict(x, batch_size=1, verbose=0))
    print(f"\n{name}: int8 |error| vs Keras float: max {mx:.4f}, mean {mean:.4f}, output range {rng_:.3f}")
    assert mx / rng_ < ERROR_BOUND


def test_gru_error_against_tf_converter():
    """The same GRU through TF's converter (unroll=True, the form it converts) and TFLM, against float."""
    from tests.tfconvert import convert

    m, twin = _model("gru_dense"), _model("gru_dense", unroll=True)
    twin.set_weights(m.get_weights())
    calib, x = _data(128, 1), _data(16, 5)
    want = m.predict(x, batch_size=1, verbose=0)
    np.testing.assert_allclose(twin.predict(x, batch_size=1, verbose=0), want, atol=1e-5)
    tf_model = convert(twin, calib)
    interp = tflm_interpreter(tf_model)
    (s_in, z_in), (s_out, z_out) = ((float(d["quantization_parameters"]["scales"][0]),
                                     int(d["quantization_parameters"]["zero_points"][0]))
                                    for d in (interp.get_input_details(0), interp.get_output_details(0)))
    tf_got = np.stack([(tflm_run(tf_model, [np.clip(np.round(x[i:i + 1] / s_in) + z_in, -128, 127)])[0]
                        .astype(np.float32) - z_out) * s_out for i in range(len(x))]).reshape(want.shape)
    graph = build(m, calibration=calib, firmware=False, measure_stack=False, compare_tflm_arena=False,
                  check_fit=False).graph
    ours = _int8_error(host_model_for(graph), graph, x, want)
    theirs = (float(np.abs(tf_got - want).max()), float(np.abs(tf_got - want).mean()))
    print(f"\ngru_dense: tinygen int8 max {ours[0]:.4f} mean {ours[1]:.4f}; TF converter int8 max {theirs[0]:.4f} "
          f"mean {theirs[1]:.4f}")
    assert ours[1] < 2 * theirs[1] + 1e-3


def test_stateful_gru_sequence_and_reset():
    keras.utils.set_random_seed(9)
    inp = keras.Input((4, FEATURES), batch_size=1)
    m = keras.Model(inp, keras.layers.GRU(8, stateful=True)(inp))
    calib = np.random.default_rng(1).standard_normal((64, 4, FEATURES)).astype(np.float32)
    graph = build(m, calibration=calib, firmware=False, measure_stack=False, compare_tflm_arena=False,
                  check_fit=False).graph
    assert any(t.variable for t in graph.tensors.values())
    tflite, model = to_bytes(graph), host_model_for(graph)
    x = np.random.default_rng(2).standard_normal((60, 1, 4, FEATURES)).astype(np.float32)
    xq = _q(x, graph.tensors[graph.inputs[0]])

    def differing(a, b):
        return sum(int(np.sum(np.asarray(u).reshape(-1) != np.asarray(v).reshape(-1))) for u, v in zip(a, b))

    res = compare_sequence(model, graph, lower(graph), [xq], tflm_interpreter(tflite), lambda: tflm_interpreter(tflite),
                           False, differing)
    assert res == dict(diff_ref=0, diff_tflm=0, reset_diff=0, stateful=True)
    m.layers[-1].reset_states()
    want = np.stack([m.predict(x[i], verbose=0)[0] for i in range(len(x))])  # Keras carries the state too
    model.reset()
    tout = graph.tensors[graph.outputs[0]]
    got = np.stack([(model([xq[i]])[0].astype(np.float32).reshape(-1) - tout.zero_point) * tout.scale
                    for i in range(len(x))])
    print(f"\nstateful GRU, 60 invokes: int8 |error| vs Keras stateful float: max {np.abs(got - want).max():.4f}, "
          f"mean {np.abs(got - want).mean():.4f}, output range {want.max() - want.min():.3f}")
    assert np.abs(got - want).max() / (want.max() - want.min()) < ERROR_BOUND


@pytest.mark.parametrize("name", ["gru_dense", "rnn_tanh_then_gru", "bidirectional_gru"])
def test_keras_cell_16x8_equals_tflm(name):
    """--activations int16: the same step program on int16 values (tg_rnn_s16), equal to TFLM on the export."""
    m = _model(name)
    graph = build(m, calibration=_data(128, 1), activations="int16", firmware=False, measure_stack=False,
                  compare_tflm_arena=False, check_fit=False).graph
    tin, tout = graph.tensors[graph.inputs[0]], graph.tensors[graph.outputs[0]]
    assert tin.dtype == "int16" and [op for op in graph.ops if op.kind in (OpKind.GRU, OpKind.RNN)]
    tflite, lowered, model = to_bytes(graph), lower(graph), host_model_for(graph)
    x = _data(16, 5)
    xq = np.clip(np.round(x / tin.scale), -32768, 32767).astype(np.int16)
    for i in range(3):
        want = np.asarray(tflm_run(tflite, [xq[i:i + 1]])[0]).reshape(-1)
        assert np.asarray(run_reference(graph, [xq[i:i + 1]], lowered)[0]).reshape(-1).tobytes() == want.tobytes()
        assert np.asarray(model([xq[i:i + 1]])[0]).reshape(-1).tobytes() == want.tobytes()
    want = m.predict(x, batch_size=1, verbose=0)
    got = np.stack([model([xq[i:i + 1]])[0].astype(np.float32) * tout.scale for i in range(len(x))]).reshape(want.shape)
    d = np.abs(got - want)
    print(f"\n{name} 16x8: |error| vs Keras float: max {d.max():.5f}, mean {d.mean():.5f}, "
          f"output range {want.max() - want.min():.3f}")
    assert d.max() / (want.max() - want.min()) < ERROR_BOUND / 10


@pytest.mark.parametrize("layer,message", [
    (lambda: keras.layers.GRU(4, activation="relu", name="g"),
     r"layer 'g' \(GRU\): activation='relu' is not supported"),
    (lambda: keras.layers.GRU(4, recurrent_activation="hard_sigmoid", name="g"),
     r"layer 'g' \(GRU\): recurrent_activation='hard_sigmoid' is not supported"),
    (lambda: keras.layers.SimpleRNN(4, activation="sigmoid", name="s"),
     r"layer 's' \(SimpleRNN\): activation='sigmoid' is not supported"),
])
def test_unsupported_keras_options_are_refused_naming_the_layer(layer, message):
    from tinygen.compiler import load_model
    from tinygen.errors import TinygenError

    inp = keras.Input((STEPS, FEATURES), batch_size=1)
    with pytest.raises(TinygenError, match=message):
        load_model(keras.Model(inp, layer()(inp)))
