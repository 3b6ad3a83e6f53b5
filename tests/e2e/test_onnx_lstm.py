"""ONNX LSTM fixtures (tests/onnx_lstm_models.py, PyTorch's nn.LSTM export form) through tinygen:

- the float import equals onnxruntime;
- the int8 build has no TRANSPOSE op (batch_first's Transposes and the bidirectional Y shuffle are free
  with batch 1) and each LSTM node is UNIDIRECTIONAL_SEQUENCE_LSTM ops (two for bidirectional);
- generated C == NumPy reference == TFLM on tinygen's exported .tflite, byte for byte (int8, and 16x8);
- the int8 error against onnxruntime's float outputs is measured, printed (`-s`) and bounded.
"""
from __future__ import annotations

import numpy as np
import pytest

from tests.onnx_lstm_models import FIXTURES, STEPS, FEATURES
from tests.oracle import tflm_run
from tinygen.compiler import build, load_model, lower
from tinygen.ir import OpKind
from tinygen.quant import float_ref
from tinygen.verify.export_tflite import to_bytes
from tinygen.verify.testing import host_model_for, run_reference

import onnx
import onnxruntime as ort

ERROR_BOUND = 0.04  # int8: mean |error| as a fraction of the float outputs' range
LSTMS = {"lstm_forward": 1, "lstm_reverse_last": 1, "lstm_bidirectional": 2, "lstm_stacked": 2}
OPTS = dict(firmware=False, measure_stack=False, compare_tflm_arena=False, check_fit=False)


def _save(tmp_path, name):
    path = tmp_path / f"{name}.onnx"
    onnx.save(FIXTURES[name](), str(path))
    return path


def _data(seed: int, n: int) -> np.ndarray:
    """Smooth random sequences (random walk plus noise) [n, time, features], PyTorch's batch_first layout."""
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.normal(0, 0.4, (n, STEPS, FEATURES)), axis=1)
    return (walk + rng.normal(0, 0.2, walk.shape)).astype(np.float32)


def _ort(path, x: np.ndarray) -> np.ndarray:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.concatenate([sess.run(None, {"input": x[i:i + 1]})[0] for i in range(len(x))])


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_float_import_equals_onnxruntime(tmp_path, name):
    path = _save(tmp_path, name)
    graph = load_model(path)
    kinds = [op.kind for op in graph.ops]
    assert OpKind.TRANSPOSE not in kinds
    assert kinds.count(OpKind.UNIDIRECTIONAL_SEQUENCE_LSTM) == LSTMS[name]
    x = _data(1, 4)
    want = _ort(path, x)
    got = np.concatenate([np.asarray(float_ref.run(graph, [x[i:i + 1]])[0]) for i in range(len(x))])
    np.testing.assert_allclose(got.reshape(want.shape), want, rtol=1e-4, atol=1e-5)


def _quantize(x: np.ndarray, t) -> np.ndarray:
    info = np.iinfo(t.dtype)
    v = np.floor(np.abs(x / np.float32(t.scale)) + 0.5) * np.sign(x) + t.zero_point
    return np.clip(v, info.min, info.max).astype(t.dtype).reshape(t.shape)


def _check_exact(graph, n: int = 5) -> None:
    tflite, lowered, model = to_bytes(graph), lower(graph), host_model_for(graph)
    tin = graph.tensors[graph.inputs[0]]
    for k, x in enumerate(_data(7, n)):
        xq = _quantize(x, tin)
        model.reset()
        want = np.asarray(tflm_run(tflite, [xq])[0])
        ref = np.asarray(run_reference(graph, [xq], lowered)[0])
        got = np.asarray(model([xq])[0])
        assert ref.reshape(want.shape).tobytes() == want.tobytes(), f"sample {k}: NumPy reference differs from TFLM"
        assert got.reshape(want.shape).tobytes() == want.tobytes(), f"sample {k}: C differs from TFLM"


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_int8_c_equals_reference_and_tflm(tmp_path, name):
    path = _save(tmp_path, name)
    result = build(path, calibration=_data(0, 128), **OPTS)
    graph = result.graph
    assert OpKind.TRANSPOSE not in [op.kind for op in graph.ops]
    assert not any("transpose" in f for f in result.files), sorted(result.files)
    _check_exact(graph)
    # int8 error against onnxruntime's float outputs, on held-out sequences
    x = _data(3, 24)
    want = _ort(path, x)
    tin, tout = graph.tensors[graph.inputs[0]], graph.tensors[graph.outputs[0]]
    lowered = lower(graph)
    got = np.stack([(np.asarray(run_reference(graph, [_quantize(x[i], tin)], lowered)[0]).astype(np.float32)
                     - tout.zero_point) * np.float32(tout.scale) for i in range(len(x))]).reshape(want.shape)
    span = float(want.max() - want.min())
    err = float(np.abs(got - want).mean() / span)
    print(f"\n{name}: int8 |error| vs onnxruntime: max {np.abs(got - want).max():.4f}, mean "
          f"{np.abs(got - want).mean():.5f} ({100 * err:.2f}% of the output range {span:.3f})")
    assert err < ERROR_BOUND


@pytest.mark.parametrize("name", ["lstm_forward", "lstm_bidirectional"])
def test_16x8_c_equals_reference_and_tflm(tmp_path, name):
    graph = build(_save(tmp_path, name), calibration=_data(0, 32), activations="int16", **OPTS).graph
    assert graph.tensors[graph.inputs[0]].dtype == "int16"
    _check_exact(graph, 3)


def test_refusals_name_the_node(tmp_path):
    """clip and a non-zero initial state are refused in one line naming the node."""
    from tinygen.errors import UnsupportedError

    for edit, why in (("clip", "clip is not supported"), ("h0", "non-zero initial_h")):
        m = FIXTURES["lstm_forward"]()
        node = next(n for n in m.graph.node if n.op_type == "LSTM")
        if edit == "clip":
            node.attribute.append(onnx.helper.make_attribute("clip", 3.0))
        else:
            init = next(i for i in m.graph.initializer if i.name == node.input[5])
            init.CopyFrom(onnx.numpy_helper.from_array(np.ones((1, 1, 8), np.float32), init.name))
        path = tmp_path / f"{edit}.onnx"
        onnx.save(m, str(path))
        with pytest.raises(UnsupportedError) as e:
            load_model(path)
        assert why in str(e.value) and node.name in str(e.value) and "\n" not in str(e.value)


def test_time_major_dynamic_input_is_refused(tmp_path):
    """An LSTM reading a [time, 1, features] graph input whose time axis is dynamic (PyTorch's batch_first=False
    export) would run one step: refused in one line naming the node, pointing at batch_first."""
    from tests.onnx_lstm_models import Net, _lstm
    from tinygen.errors import UnsupportedError

    n = Net("time_major", 0)
    y, _ = _lstm(n, "input", FEATURES, 4)
    path = tmp_path / "time_major.onnx"
    onnx.save(n.model((STEPS, 1, FEATURES), y, batch="time"), str(path))
    with pytest.raises(UnsupportedError) as e:
        load_model(path)
    assert "batch_first=True" in str(e.value) and "LSTM" in str(e.value) and "\n" not in str(e.value)
