"""ONNX GRU / RNN (tests/onnx_gru_models.py) end to end:

- the float import equals onnxruntime;
- the int8 build holds no TRANSPOSE (the batch_first transposes are layout records, X is read in place);
- the generated C equals the NumPy reference and TFLM on the exported .tflite (the unrolled steps), byte for byte;
- the int8 error against onnxruntime is printed (docs/onnx.md lists it) and bounded.
"""
from __future__ import annotations

import numpy as np
import pytest

from tests.oracle import tflm_run
from tests.onnx_gru_models import FIXTURES
from tinygen.compiler import build, load_model, lower
from tinygen.errors import TinygenError
from tinygen.ir import OpKind
from tinygen.quant import float_ref
from tinygen.verify.export_tflite import to_bytes
from tinygen.verify.testing import host_model_for, run_reference

import onnx
import onnxruntime as ort

ERROR_BOUND = 0.08  # max |int8 - float| as a fraction of the float outputs' range


def _save(tmp_path, name):
    path = tmp_path / f"{name}.onnx"
    onnx.save(FIXTURES[name](), str(path))
    return path


def _ort(path, x: np.ndarray) -> np.ndarray:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.concatenate([sess.run(None, {"input": x[i:i + 1]})[0] for i in range(len(x))])


def _shape(path) -> tuple:
    return tuple(d.dim_value or 1 for d in onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim)


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_float_import_equals_onnxruntime(tmp_path, name):
    path = _save(tmp_path, name)
    graph = load_model(path)
    assert not [op for op in graph.ops if op.kind == OpKind.TRANSPOSE]
    assert [op for op in graph.ops if op.kind in (OpKind.GRU, OpKind.RNN)]
    x = np.random.default_rng(1).standard_normal((3,) + _shape(path)[1:]).astype(np.float32)
    want = _ort(path, x)
    got = np.concatenate([np.asarray(float_ref.run(graph, [x[i:i + 1]])[0]) for i in range(len(x))])
    np.testing.assert_allclose(got.reshape(want.shape), want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_int8_c_equals_reference_and_tflm(tmp_path, name):
    path = _save(tmp_path, name)
    shape = _shape(path)
    rng = np.random.default_rng(2)
    calib = rng.standard_normal((128,) + shape[1:]).astype(np.float32)
    result = build(path, calibration=calib, firmware=False, measure_stack=False, compare_tflm_arena=False,
                   check_fit=False)
    graph = result.graph
    assert not [op for op in graph.ops if op.kind == OpKind.TRANSPOSE]
    assert not any("transpose" in f for f in result.files), sorted(result.files)
    tflite, lowered, model = to_bytes(graph), lower(graph), host_model_for(graph)
    tin, tout = graph.tensors[graph.inputs[0]], graph.tensors[graph.outputs[0]]
    samples = [rng.integers(-128, 127, size=tin.shape, endpoint=True).astype(np.int8) for _ in range(3)]
    samples += [np.full(tin.shape, -128, np.int8), np.full(tin.shape, 127, np.int8)]
    for k, xq in enumerate(samples):
        want = np.asarray(tflm_run(tflite, [xq])[0]).reshape(tout.shape)
        ref = np.asarray(run_reference(graph, [xq], lowered)[0]).reshape(tout.shape)
        got = np.asarray(model([xq])[0]).reshape(tout.shape)
        assert ref.tobytes() == want.tobytes(), f"sample {k}: NumPy reference differs from TFLM"
        assert got.tobytes() == want.tobytes(), f"sample {k}: C differs from TFLM"
    x = rng.standard_normal((16,) + shape[1:]).astype(np.float32)
    want = _ort(path, x)
    xq = np.clip(np.round(x / tin.scale) + tin.zero_point, -128, 127).astype(np.int8)
    got = np.stack([(model([xq[i:i + 1]])[0].astype(np.float32) - tout.zero_point) * tout.scale
                    for i in range(len(x))]).reshape(want.shape)
    err = float(np.abs(got - want).max() / (want.max() - want.min()))
    print(f"\n{name}: int8 |error| vs onnxruntime: max {np.abs(got - want).max():.4f}, mean "
          f"{np.abs(got - want).mean():.4f} (max {100 * err:.2f}% of the output range {want.max() - want.min():.3f})")
    assert err < ERROR_BOUND


def _node_model(tmp_path, **attrs):
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.zeros((1, 12, 4), np.float32), "W")
    r = numpy_helper.from_array(np.zeros((1, 12, 4), np.float32), "R")
    t = helper.make_node("Transpose", ["input"], ["xt"], name="t", perm=[1, 0, 2])
    node = helper.make_node("GRU", ["xt", "W", "R"], ["y"], name="gru", hidden_size=4, **attrs)
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    m = helper.make_model(helper.make_graph([t, node], "g", [x], [y], [w, r]),
                          opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / "bad.onnx"
    onnx.save(m, str(path))
    return path


@pytest.mark.parametrize("attrs,message", [
    (dict(clip=1.0), r"node 'gru' \(GRU\): clip is not supported"),
    (dict(activations=["Sigmoid", "Relu"]), r"node 'gru' \(GRU\): activations \['Sigmoid', 'Relu'\] are not supported"),
])
def test_unsupported_attributes_are_refused_naming_the_node(tmp_path, attrs, message):
    with pytest.raises(TinygenError, match=message):
        load_model(_node_model(tmp_path, **attrs))


def test_cli_build_verify_of_a_gru(tmp_path):
    """The command line: build the bidirectional GRU (int8 and 16x8), then `tinygen verify` (the saved graph
    reloaded, exported, run by TFLM)."""
    import subprocess
    import sys

    path = _save(tmp_path, "gru_bidirectional_linear")
    calib = np.random.default_rng(0).standard_normal((64,) + _shape(path)[1:]).astype(np.float32)
    np.save(tmp_path / "calib.npy", calib)

    def cli(*args):
        r = subprocess.run([sys.executable, "-m", "tinygen.cli", *map(str, args)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        return r.stdout + r.stderr

    for mode, out in (("int8", tmp_path / "o8"), ("int16", tmp_path / "o16")):
        cli("build", path, "-o", out, "--calib", tmp_path / "calib.npy", "--activations", mode, "--no-fit-check")
        text = cli("verify", out, "--samples", "5")
        assert "TFLM interpreter" in text and "bit-exact with TFLM and the NumPy reference" in text, text
