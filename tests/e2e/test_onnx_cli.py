"""The command line on an ONNX model: build with NCHW calibration data, run with NCHW inputs and get the
ONNX model's own output layout back (comparable with onnxruntime as is), verify, export-tflite."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort

from tests.onnx_models import autoencoder


def _cli(*args):
    r = subprocess.run([sys.executable, "-m", "tinygen.cli", *map(str, args)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout + r.stderr


def test_build_run_verify_export_in_the_onnx_layout(tmp_path):
    model = tmp_path / "ae.onnx"
    onnx.save(autoencoder(), str(model))
    rng = np.random.default_rng(0)
    np.save(tmp_path / "calib.npy", rng.standard_normal((64, 2, 12, 16)).astype(np.float32))
    x = rng.standard_normal((3, 2, 12, 16)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "out"
    text = _cli("build", model, "-o", out, "--calib", tmp_path / "calib.npy", "--no-fit-check")
    assert "dynamic batch dimension 'batch_size' taken as 1" in text
    assert "int8[1, 12, 16, 2]" in text  # model.h: the input stored NHWC
    _cli("run", out, "--input", tmp_path / "x.npy", "--output", tmp_path / "y.npy")
    y = np.load(tmp_path / "y.npy")
    assert y.shape == (3, 2, 24, 32)  # the ONNX output layout (N, C, H, W)
    import json

    o = json.loads((out / "tinygen.json").read_text())["outputs"][0]
    got = (y.astype(np.float32) - o["zero_point"]) * o["scale"]
    sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    want = np.concatenate([sess.run(None, {"input": s[None]})[0] for s in x])
    assert np.abs(got - want).max() < 0.08  # int8 of a sigmoid image (float range 0..1)
    assert "bit-exact with TFLM" in _cli("verify", out)
    _cli("export-tflite", out, tmp_path / "ae.tflite")
    assert (tmp_path / "ae.tflite").stat().st_size > 0
