"""The ONNX frontend's refusals: one line naming the file and the node or field, non-zero exit, no traceback."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from tinygen.compiler import build, load_model
from tinygen.errors import TinygenError, UnsupportedError


def _model(nodes, inits=(), x_shape=("N", 3, 8, 8), opset=17):
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, list(x_shape))
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, None)
    g = helper.make_graph(nodes, "m", [x], [y], list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def _relu(x_shape=("N", 3, 8, 8), opset=17, op="Relu"):
    return _model([helper.make_node(op, ["input"], ["output"], name="/act/Relu")], x_shape=x_shape, opset=opset)


def _save(tmp_path, m, name="m.onnx"):
    p = tmp_path / name
    onnx.save(m, str(p))
    return p


def test_unsupported_op_names_node_and_op(tmp_path):
    p = _save(tmp_path, _relu(op="Ceil"))
    with pytest.raises(UnsupportedError) as e:
        load_model(p)
    assert str(e.value) == f"{p}: node '/act/Relu' (Ceil): operator Ceil is not supported"


def test_wrong_opset(tmp_path):
    p = _save(tmp_path, _relu(opset=11))
    with pytest.raises(UnsupportedError, match=r"opset 11 is not supported \(tinygen reads opsets 13 to 21"):
        load_model(p)


def test_dynamic_dimension_needs_input_shape(tmp_path):
    p = _save(tmp_path, _relu(x_shape=("N", 3, "H", 8)))
    with pytest.raises(UnsupportedError, match=r"input 'input': dimension 2 \('H'\) is dynamic; give its size with --input-shape"):
        load_model(p)
    g = load_model(p, input_shape={"input": (1, 3, 5, 8)})
    assert g.tensors[g.inputs[0]].shape == (1, 5, 8, 3)


def test_dynamic_batch_is_one_and_the_build_says_so(tmp_path):
    p = _save(tmp_path, _relu())
    calib = np.random.default_rng(0).standard_normal((4, 3, 8, 8)).astype(np.float32)
    r = build(p, calibration=calib, firmware=False, measure_stack=False, compare_tflm_arena=False)
    assert any("dynamic batch dimension 'N' taken as 1" in w for w in r.report["warnings"])


def test_external_data_refused(tmp_path):
    w = numpy_helper.from_array(np.ones((4, 3, 1, 1), np.float32), "w")
    m = _model([helper.make_node("Conv", ["input", "w"], ["output"], name="conv", kernel_shape=[1, 1])], [w])
    onnx.save(m, str(tmp_path / "ext.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
              location="ext.data", size_threshold=0)
    with pytest.raises(UnsupportedError, match="initializer 'w' is stored as external data"):
        load_model(tmp_path / "ext.onnx")


def test_cli_error_is_one_line_without_traceback(tmp_path):
    p = _save(tmp_path, _relu(op="Ceil"))
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "tinygen.cli", "build", str(p), "-o", str(out)],
                       capture_output=True, text=True)
    assert r.returncode != 0
    assert "Traceback" not in r.stderr and "operator Ceil is not supported" in r.stderr
    assert not out.exists()


def test_missing_onnx_package_says_how_to_install(monkeypatch, tmp_path):
    import builtins

    real = builtins.__import__

    def fake(name, *a, **k):
        if name == "onnx":
            raise ImportError("no onnx")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(TinygenError, match=r"pip install 'tinygen\[onnx\]'"):
        load_model(_save(tmp_path, _relu()))


def test_lstm_refused_with_the_reason(tmp_path):
    """LSTM compiles (tests/e2e/test_onnx_lstm.py); what it cannot express (clip) is refused naming the node."""
    w = numpy_helper.from_array(np.zeros((1, 16, 3), np.float32), "W")
    r = numpy_helper.from_array(np.zeros((1, 16, 4), np.float32), "R")
    node = helper.make_node("LSTM", ["input", "W", "R"], ["output"], name="/lstm/LSTM", hidden_size=4, clip=2.0)
    p = _save(tmp_path, _model([node], [w, r], x_shape=(1, 1, 3)))
    with pytest.raises(UnsupportedError) as e:
        load_model(p)
    assert str(e.value).startswith(f"{p}: node '/lstm/LSTM' (LSTM): clip is not supported")


def test_unreadable_file_names_the_file(tmp_path):
    from tinygen.errors import ModelFormatError

    p = tmp_path / "bad.onnx"
    p.write_bytes(b"\x08\x07not a protobuf\xff\xff")
    with pytest.raises(ModelFormatError, match=r"bad.onnx: cannot read ONNX model"):
        load_model(p)


def test_several_refused_nodes_are_named_in_one_line(tmp_path):
    nodes = [helper.make_node("Ceil", ["input"], ["a"], name="e1"), helper.make_node("Round", ["input"], ["b"], name="e2"),
             helper.make_node("Add", ["a", "b"], ["output"], name="add")]
    p = _save(tmp_path, _model(nodes))
    with pytest.raises(UnsupportedError) as e:
        load_model(p)
    msg = str(e.value)
    assert msg.startswith("2 nodes are not supported: ") and "'e1' (Ceil)" in msg and "'e2' (Round)" in msg
    assert "\n" not in msg


def test_nodes_after_a_refused_node_are_not_converted(tmp_path):
    """A node reading a refused node's output is skipped (its shapes are unknown): the one error names the
    refused node only."""
    nodes = [helper.make_node("Ceil", ["input"], ["a"], name="e1"),
             helper.make_node("Concat", ["input", "a"], ["b"], name="cat", axis=1),
             helper.make_node("Relu", ["b"], ["output"], name="r")]
    p = _save(tmp_path, _model(nodes))
    with pytest.raises(UnsupportedError) as e:
        load_model(p)
    assert str(e.value) == f"{p}: node 'e1' (Ceil): operator Ceil is not supported"
