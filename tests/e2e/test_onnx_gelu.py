"""ONNX activations with no TFLite integer kernel as tinygen's LUT op, and time-major recurrent inputs
(fixtures: tests/onnx_act_models.py, in PyTorch's export forms; torch is not installed in the test env).

- Gelu (opset 20) and PyTorch's GELU chains (TorchScript and dynamo, erf and tanh forms, a hand-written
  one) import as ONE LUT op each, as do the standalone Erf, Softplus, Softsign, Selu, Celu, Elu, Sin, Cos,
  ThresholdedRelu, Shrink, Exp, Log, Mish nodes: float import == onnxruntime; int8 and 16x8 C == NumPy
  reference. TFLite has no table op, so TFLM cannot run a LUT: every other op of each model is checked
  against TFLM on the model with its LUT ops cut out (their inputs become graph outputs, their outputs
  graph inputs fed with the reference's values). int8 error against onnxruntime is printed and bounded.
- nn.LSTM / nn.GRU with batch_first=False ([time, batch, features] input, static or dynamic time):
  float == onnxruntime, no TRANSPOSE, int8 and 16x8 C == reference == TFLM, `tinygen run` in the ONNX
  layout ([time, N, features]).
"""
from __future__ import annotations

import copy

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from tests.onnx_act_models import FEATURES, GELU_FIXTURES, STEPS, TIME_MAJOR_FIXTURES
from tests.oracle import tflm_run
from tinygen.compiler import build, load_model, lower
from tinygen.errors import UnsupportedError
from tinygen.frontend.onnx.io import inputs_to_stored
from tinygen.ir import OpKind
from tinygen.quant import float_ref
from tinygen.verify.export_tflite import to_bytes
from tinygen.verify.testing import host_model_for, run_reference

OPTS = dict(firmware=False, measure_stack=False, compare_tflm_arena=False, check_fit=False)
# the LUT functions each GELU / activation fixture imports to, in graph order
LUTS = {
    "gelu_script": ["gelu", "gelu_tanh"],
    "gelu_dynamo": ["gelu", "gelu_tanh", "gelu"],
    "gelu_op20": ["gelu", "gelu_tanh"],
    "acts_lut": ["erf", "softplus", "softsign", "selu", "celu", "elu", "sin", "cos", "threshold", "shrink",
                 "exponential", "mish", "mish", "softplus", "log"],
}
SHAPES = {"gelu_script": (1, 8), "gelu_dynamo": (1, 6, 8), "gelu_op20": (1, 3, 12, 12), "acts_lut": (1, 8),
          "lstm_time_major": (STEPS, 1, FEATURES), "gru_time_major": (STEPS, 1, FEATURES),
          "lstm_time_major_bidirectional": (STEPS, 1, FEATURES), "lstm_time_major_stacked": (STEPS, 1, FEATURES)}
INPUT_SHAPE = {"gru_time_major": {"input": (STEPS, 1, FEATURES)}}  # its time axis is dynamic
ERROR_BOUND = {"int8": 0.03, "int16": 0.01}  # mean |error| / float output range


def _save(tmp_path, name):
    path = tmp_path / f"{name}.onnx"
    onnx.save({**GELU_FIXTURES, **TIME_MAJOR_FIXTURES}[name](), str(path))
    return path


def _batch_axis(name) -> int:
    return 1 if name in TIME_MAJOR_FIXTURES else 0


def _data(name, seed: int, n: int) -> np.ndarray:
    """n samples in the ONNX layout, stacked on the model's batch axis ([time, n, features] when time-major)."""
    shape = list(SHAPES[name])
    shape[_batch_axis(name)] = n
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    if name in TIME_MAJOR_FIXTURES:  # smooth sequences
        x = (np.cumsum(0.4 * x, axis=0) + 0.2 * x).astype(np.float32)
    return x


def _sample(name, x, i) -> np.ndarray:
    return np.take(x, [i], axis=_batch_axis(name))


def _ort(path, name, x) -> list:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return [sess.run(None, {"input": _sample(name, x, i)})[0] for i in range(x.shape[_batch_axis(name)])]


def _stored(graph, sample) -> np.ndarray:
    return inputs_to_stored(graph.onnx_io, [sample])[0]


@pytest.mark.parametrize("name", sorted(GELU_FIXTURES) + sorted(TIME_MAJOR_FIXTURES))
def test_float_import_equals_onnxruntime(tmp_path, name):
    path = _save(tmp_path, name)
    graph = load_model(path, INPUT_SHAPE.get(name))
    kinds = [op.kind for op in graph.ops]
    assert OpKind.TRANSPOSE not in kinds
    if name in LUTS:
        assert [op.attrs.function for op in graph.ops if op.kind == OpKind.LUT] == LUTS[name]
        assert not set(kinds) - {OpKind.LUT, OpKind.FULLY_CONNECTED, OpKind.CONV_2D, OpKind.MEAN, OpKind.RESHAPE,
                                 OpKind.ADD}, kinds  # a fused chain leaves none of its MUL / ADD / TANH
        assert kinds.count(OpKind.ADD) == (1 if name == "acts_lut" else 0)  # acts_lut: Softplus + 0.1 before Log
    x = _data(name, 1, 4)
    for i, want in enumerate(_ort(path, name, x)):
        got = np.asarray(float_ref.run(graph, [_stored(graph, _sample(name, x, i))])[0])
        np.testing.assert_allclose(got.reshape(-1), want.reshape(-1), rtol=1e-4, atol=1e-5)


def _quantize(x: np.ndarray, t) -> np.ndarray:
    info = np.iinfo(t.dtype)
    v = np.floor(np.abs(x / np.float32(t.scale)) + 0.5) * np.sign(x) + t.zero_point
    return np.clip(v, info.min, info.max).astype(t.dtype).reshape(t.shape)


def _without_luts(graph):
    """The graph with its LUT ops cut out: each LUT's output becomes a graph input, its input a graph output."""
    luts = [op for op in graph.ops if op.kind == OpKind.LUT]
    sub = copy.deepcopy(graph)
    sub.ops = [op for op in sub.ops if op.kind != OpKind.LUT]
    sub.inputs = list(graph.inputs) + [op.outputs[0] for op in luts]
    sub.outputs = list(graph.outputs) + [op.inputs[0] for op in luts if op.inputs[0] not in graph.inputs]
    return sub


def _check_exact(graph, name, n: int) -> int:
    """C == NumPy reference on n held-out samples; the non-LUT ops (all of them without LUTs) == TFLM.
    Returns how many ops TFLM checked."""
    lowered, model = lower(graph), host_model_for(graph)
    cut = _without_luts(graph)
    tflite = to_bytes(cut)
    tin = graph.tensors[graph.inputs[0]]
    x = _data(name, 7, n)
    for k in range(n):
        xq = _quantize(_stored(graph, _sample(name, x, k)), tin)
        model.reset()
        outs, env = run_reference(graph, [xq], lowered, collect=True)
        got = np.asarray(model([xq])[0])
        assert got.tobytes() == np.asarray(outs[0]).reshape(got.shape).tobytes(), f"sample {k}: C != reference"
        tflm = tflm_run(tflite, [xq] + [env[t] for t in cut.inputs[1:]])
        for t, y in zip(cut.outputs, tflm):
            assert np.asarray(y).reshape(-1).tobytes() == env[t].reshape(-1).tobytes(), f"sample {k}: '{t}' != TFLM"
    return len(cut.ops)


def _error(graph, path, name) -> tuple:
    """(max, mean |int8 output - onnxruntime|, float output range) on 16 held-out samples."""
    x = _data(name, 3, 16)
    lowered = lower(graph)
    tin, tout = graph.tensors[graph.inputs[0]], graph.tensors[graph.outputs[0]]
    errs, wants = [], []
    for i, want in enumerate(_ort(path, name, x)):
        r = np.asarray(run_reference(graph, [_quantize(_stored(graph, _sample(name, x, i)), tin)], lowered)[0])
        got = (r.astype(np.float32) - tout.zero_point) * np.float32(tout.scale)
        errs.append(np.abs(got.reshape(-1) - want.reshape(-1)))
        wants.append(want.reshape(-1))
    errs, wants = np.concatenate(errs), np.concatenate(wants)
    return float(errs.max()), float(errs.mean()), float(wants.max() - wants.min())


@pytest.mark.parametrize("mode", ["int8", "int16"])
@pytest.mark.parametrize("name", sorted(GELU_FIXTURES) + sorted(TIME_MAJOR_FIXTURES))
def test_c_equals_reference_and_tflm(tmp_path, name, mode):
    path = _save(tmp_path, name)
    result = build(path, calibration=_data(name, 0, 128), input_shape=INPUT_SHAPE.get(name), activations=mode,
                   **OPTS)
    graph = result.graph
    graph.onnx_io = result.report["onnx_layout"]  # for _stored: the ONNX layout of the data
    kinds = [op.kind for op in graph.ops]
    assert OpKind.TRANSPOSE not in kinds and not any("transpose" in f for f in result.files)
    assert graph.tensors[graph.inputs[0]].dtype == ("int8" if mode == "int8" else "int16")
    checked = _check_exact(graph, name, 3)
    assert checked == len(kinds) - kinds.count(OpKind.LUT) > 0
    worst, mean, span = _error(graph, path, name)
    print(f"\n{name} {mode}: |error| vs onnxruntime max {worst:.4f} mean {mean:.5f}, output range {span:.3f} "
          f"({100 * mean / span:.2f}%); {checked} of {len(kinds)} ops checked against TFLM")
    assert mean / span < ERROR_BOUND[mode]


def test_time_major_run_in_onnx_layout(tmp_path):
    """`tinygen run` on a time-major build takes [time, N, features] and returns [time, N, outputs]: equal to the
    reference sample by sample, close to onnxruntime."""
    from tinygen.compiler import compile_model
    from tinygen.verify.runner import run_model

    name = "lstm_time_major"
    path = _save(tmp_path, name)
    out = tmp_path / "out"
    result = compile_model(path, out, calibration=_data(name, 0, 64), **OPTS)
    graph = result.graph
    graph.onnx_io = result.report["onnx_layout"]
    tin, tout = graph.tensors[graph.inputs[0]], graph.tensors[graph.outputs[0]]
    x = _data(name, 9, 3)
    (y,) = run_model(out, x, reset_each=True)
    assert y.shape == (STEPS, 3, 4)
    for i, want in enumerate(_ort(path, name, x)):
        got = _sample(name, y, i)
        ref = run_reference(graph, [_quantize(_stored(graph, _sample(name, x, i)), tin)])[0]
        assert got.tobytes() == np.asarray(ref).tobytes()
        deq = (got.astype(np.float32) - tout.zero_point) * np.float32(tout.scale)
        assert np.abs(deq - want).max() < 0.1 * float(np.ptp(want))


@pytest.mark.parametrize("name", sorted(TIME_MAJOR_FIXTURES))
def test_time_major_dynamic_time_needs_input_shape(tmp_path, name):
    m = TIME_MAJOR_FIXTURES[name]()
    m.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "sequence"
    path = tmp_path / "m.onnx"
    onnx.save(m, str(path))
    with pytest.raises(UnsupportedError) as e:
        load_model(path)
    msg = str(e.value)
    assert "time axis" in msg and "--input-shape" in msg and ("LSTM" in msg or "GRU" in msg) and "\n" not in msg
    graph = load_model(path, {"input": (STEPS, FEATURES)})  # rank 2: the batch of 1 goes in the middle
    assert graph.tensors[graph.inputs[0]].shape == (1, STEPS, FEATURES)


def test_chain_whose_inner_value_is_read_elsewhere_is_not_fused(tmp_path):
    """A GELU chain whose Erf output is also a graph output's input stays op by op: Erf's LUT and the rest."""
    from tests.onnx_act_models import gelu_script_erf
    from tests.onnx_models import Net

    n = Net("gelu_shared", 0)
    x = n.linear("input", 8, 8)
    y = gelu_script_erf(n, x)
    erf = next(node for node in n.nodes if node.op_type == "Erf").output[0]
    m = n.model((1, 8), n.node("Add", [y, erf]))
    path = tmp_path / "m.onnx"
    onnx.save(m, str(path))
    graph = load_model(path)
    assert [op.attrs.function for op in graph.ops if op.kind == OpKind.LUT] == ["erf"]
    x = _data("gelu_script", 2, 1)
    want = _ort(path, "gelu_script", x)[0]
    np.testing.assert_allclose(np.asarray(float_ref.run(graph, [x])[0]).reshape(-1), want.reshape(-1), rtol=1e-4,
                               atol=1e-5)


def test_cli_time_major_gru_with_input_shape(tmp_path):
    """The command line: the GRU with a dynamic time axis builds with --input-shape and [time, N, features]
    calibration data, `tinygen run` answers in [time, N, ...] as the reference does, verify finds it bit-exact
    with TFLM; without --input-shape the build fails in one line naming the node."""
    import json
    import subprocess
    import sys

    def cli(*args, ok=True):
        r = subprocess.run([sys.executable, "-m", "tinygen.cli", *map(str, args)], capture_output=True, text=True)
        assert (r.returncode == 0) == ok, r.stderr
        return r.stdout + r.stderr

    name = "gru_time_major"
    path = _save(tmp_path, name)
    np.save(tmp_path / "calib.npy", _data(name, 0, 64))
    x = _data(name, 4, 3)
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "out"
    err = cli("build", path, "-o", out, "--calib", tmp_path / "calib.npy", "--no-fit-check", ok=False)
    assert "time axis of GRU node" in err and "--input-shape" in err and "Traceback" not in err
    assert not out.exists()
    cli("build", path, "-o", out, "--calib", tmp_path / "calib.npy", "--no-fit-check", "--input-shape",
        f"input={STEPS},1,{FEATURES}")
    cli("run", out, "--input", tmp_path / "x.npy", "--output", tmp_path / "y.npy")
    y = np.load(tmp_path / "y.npy")
    o = json.loads((out / "tinygen.json").read_text())["outputs"][0]
    got = (y.astype(np.float32) - o["zero_point"]) * o["scale"]
    want = np.concatenate(_ort(path, name, x))
    assert got.shape == want.shape == (3, 3)
    assert np.abs(got - want).max() < 0.05 * float(np.ptp(want))
    assert "bit-exact with TFLM" in cli("verify", out)
