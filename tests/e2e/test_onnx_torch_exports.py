"""ONNX files written by PyTorch's own exporters (tests/fixtures/onnx/export_torch.py; the dynamo exporter at
opset 18 and the TorchScript exporter at opset 13), read without torch: the float import equals onnxruntime,
the int8 build has no TRANSPOSE (a permute before a Linear only changes the recorded layout) and its C equals
the NumPy reference and TFLM on the export."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from tests.oracle import tflm_run
from tinygen.compiler import build, load_model
from tinygen.frontend.onnx.io import inputs_to_stored, outputs_to_onnx
from tinygen.ir import OpKind
from tinygen.quant import float_ref
from tinygen.verify.export_tflite import to_bytes
from tinygen.verify.testing import host_model_for, run_reference

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "onnx"
NAMES = ["dynamo_cnn", "dynamo_seq", "script_seq", "dynamo_mix", "script_mix", "script_shuffle"]
SHAPES = {"dynamo_cnn": (3, 16, 16), "dynamo_seq": (4, 32), "script_seq": (4, 32), "dynamo_mix": (3, 16, 16),
          "script_mix": (3, 16, 16), "script_shuffle": (4, 8, 8)}
TRANSPOSES = {"script_shuffle": 1}  # the channel shuffle moves data; nothing else needs a TRANSPOSE


@pytest.mark.parametrize("name", NAMES)
def test_torch_export_float_and_int8(name):
    path = FIXTURES / f"{name}.onnx"
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 1) + SHAPES[name]).astype(np.float32)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    want = np.stack([sess.run(None, {"input": s})[0] for s in x])
    graph = load_model(path)
    io = graph.onnx_io
    got = np.stack([outputs_to_onnx(io, [np.asarray(float_ref.run(graph, inputs_to_stored(io, [s]))[0])])[0]
                    for s in x])
    np.testing.assert_allclose(got.reshape(want.shape), want, rtol=1e-4, atol=1e-5)

    calib = rng.standard_normal((64,) + SHAPES[name]).astype(np.float32)  # (N, *sample) in the ONNX layout
    r = build(path, calibration=calib, firmware=False, measure_stack=False, compare_tflm_arena=False)
    g = r.graph
    assert len([op for op in g.ops if op.kind == OpKind.TRANSPOSE]) == TRANSPOSES.get(name, 0)
    tflite, model = to_bytes(g), host_model_for(g)
    tin = g.tensors[g.inputs[0]]
    for _ in range(3):
        xq = rng.integers(-128, 127, size=tin.shape, endpoint=True).astype(np.int8)
        ref = np.asarray(run_reference(g, [xq])[0])
        assert model([xq])[0].tobytes() == ref.tobytes() == np.asarray(tflm_run(tflite, [xq])[0]).tobytes()
