"""`tinygen validate`: the C against the original model on user data, and its one-line errors."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.e2e.test_cli import assert_clean_error, tinygen
from tinygen.verify.validate import check_labels, metrics

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """The README's digits CNN built from Keras, with its test split as .npy files."""
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        from digits_data import load_digits_split
    finally:
        sys.path.remove(str(ROOT / "examples"))
    tmp = tmp_path_factory.mktemp("validate")
    _, _, x, y = load_digits_split()
    np.save(tmp / "x.npy", x)
    np.save(tmp / "y.npy", y)
    out = tmp / "digits"
    p = tinygen("build", ROOT / "examples" / "digits_cnn.keras", "-o", out, "--calib",
                ROOT / "examples" / "digits_calib.npy", "--name", "digits")
    assert p.returncode == 0, p.stderr
    return dict(out=out, x=tmp / "x.npy", y=tmp / "y.npy", tmp=tmp, n=len(y))


def test_digits_prints_float_and_c_accuracy(digits):
    p = tinygen("validate", digits["out"], "--data", digits["x"], "--labels", digits["y"])
    assert p.returncode == 0, p.stderr
    assert f"{digits['n']} samples" in p.stdout and "float Keras model" in p.stdout
    line = next(ln for ln in p.stdout.splitlines() if "top-1 accuracy" in ln)
    assert "float " in line and "C " in line
    report = json.loads((digits["out"] / "report.json").read_text())
    v = report["validation"]
    assert v["samples"] == digits["n"] and v["reference_is_float"]
    acc = v["accuracy"]
    assert acc["reference"] > 0.9 and abs(acc["c"] - acc["reference"]) <= 0.02  # int8 costs at most 2 points
    out = v["outputs"][0]
    assert out["name"] == "softmax" and 0 < out["l2r"] < 0.1 and out["cosine"] > 0.99
    assert out["top1_agreement"] > 0.97 and out["mae"] <= out["rmse"]
    # the printed figures are report.json's, and report.md carries them too
    assert f"{100 * acc['c']:.2f} %" in line and f"{100 * acc['reference']:.2f} %" in line
    md = (digits["out"] / "report.md").read_text()
    assert "## Validation on user data" in md and f"{100 * acc['c']:.2f} %" in md


def test_per_layer_names_the_worst_layer(digits):
    p = tinygen("validate", digits["out"], "--data", digits["x"], "--per-layer")
    assert p.returncode == 0, p.stderr
    pl = json.loads((digits["out"] / "report.json").read_text())["validation"]["per_layer"]
    names = [L["name"] for L in pl["layers"]]
    assert len(names) >= 5 and pl["worst"] in names
    worst = max(pl["layers"], key=lambda L: L["added_l2r"])
    assert worst["name"] == pl["worst"]
    assert all(L["l2r"] < 0.2 and L["cosine"] > 0.95 for L in pl["layers"])
    assert f"the layer that adds the most error: {pl['worst']}" in p.stdout
    md = (digits["out"] / "report.md").read_text()
    report = json.loads((digits["out"] / "report.json").read_text())
    assert len([ln for ln in md.splitlines() if re.match(r"^\| \d+ \|", ln)]) == len(report["layers"])
    assert f"The layer that adds the most error: {pl['worst']}." in md


def test_qemu_target_gives_the_host_figures(digits):
    x = np.load(digits["x"])[:12]
    np.save(digits["tmp"] / "x12.npy", x)
    figures = {}
    for target in ("host", "qemu"):
        p = tinygen("validate", digits["out"], "--data", digits["tmp"] / "x12.npy", "--target", target)
        assert p.returncode == 0, p.stderr
        v = json.loads((digits["out"] / "report.json").read_text())["validation"]
        assert v["target"] == target
        figures[target] = v["outputs"]
    assert figures["host"] == figures["qemu"]  # the same bytes out, the same errors


def test_tflite_source_is_compared_with_tflm(models_dir, tmp_path):
    out = tmp_path / "hw"
    p = tinygen("build", models_dir / "tflm/hello_world/hello_world_int8.tflite", "-o", out)
    assert p.returncode == 0, p.stderr
    np.save(tmp_path / "x.npy", np.linspace(0, 6.28, 32, dtype=np.float32).reshape(32, 1))
    p = tinygen("validate", out, "--data", tmp_path / "x.npy", "--per-layer")
    assert p.returncode == 0, p.stderr
    v = json.loads((out / "report.json").read_text())["validation"]
    assert not v["reference_is_float"] and "TFLM" in v["reference"] and "no float reference" in v["reference"]
    assert v["outputs"][0]["mae"] == 0.0 and v["outputs"][0]["l2r"] == 0.0  # bit-exact with TFLM
    assert v["per_layer"]["layers"] == [] and "no float model" in v["per_layer"]["note"]


def test_moved_source_needs_model_flag(digits, tmp_path):
    report = json.loads((digits["out"] / "report.json").read_text())
    report["source"] = str(tmp_path / "gone.keras")
    moved = tmp_path / "moved"
    import shutil

    shutil.copytree(digits["out"], moved)
    (moved / "report.json").write_text(json.dumps(report))
    p = tinygen("validate", moved, "--data", digits["x"])
    assert_clean_error(p, "gone.keras", "--model")
    p = tinygen("validate", moved, "--data", digits["x"], "--model", ROOT / "examples" / "digits_cnn.keras")
    assert p.returncode == 0, p.stderr


@pytest.mark.parametrize("case", ["missing data", "wrong shape", "labels length", "missing labels", "not a build",
                                  "integer data"])
def test_bad_input_is_one_line_and_leaves_report(digits, case):
    before = (digits["out"] / "report.json").read_bytes()
    tmp = digits["tmp"]
    args = ["validate", digits["out"], "--data", digits["x"]]
    if case == "missing data":
        args[3], needles = tmp / "nope.npy", ("nope.npy", "no such data file")
    elif case == "wrong shape":
        np.save(tmp / "bad.npy", np.zeros((4, 8, 9, 1), np.float32))
        args[3], needles = tmp / "bad.npy", ("expected shape", "8, 8, 1")
    elif case == "labels length":
        np.save(tmp / "y3.npy", np.zeros(3, np.int64))
        args += ["--labels", tmp / "y3.npy"]
        needles = ("3 labels", f"{digits['n']} samples")
    elif case == "missing labels":
        args += ["--labels", tmp / "nolabels.npy"]
        needles = ("nolabels.npy", "no such labels file")
    elif case == "integer data":  # int8 samples would be taken as is by the C but not by the float model
        np.save(tmp / "q.npy", np.zeros((4, 8, 8, 1), np.int8))
        args[3], needles = tmp / "q.npy", ("int8 samples", "float model digits_cnn.keras")
    else:
        args[1], needles = tmp, ("not a tinygen output folder",)
    assert_clean_error(tinygen(*args), *needles)
    assert (digits["out"] / "report.json").read_bytes() == before


def test_metrics_by_hand():
    ref = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    test = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    m = metrics(ref, test)
    assert m["mae"] == pytest.approx(2 / 6) and m["rmse"] == pytest.approx(np.sqrt(2 / 6))
    assert m["l2r"] == pytest.approx(np.sqrt(2) / np.sqrt(5))
    assert m["cosine"] == pytest.approx((1 / np.sqrt(2) + 1.0) / 2)
    assert m["top1_agreement"] == 1.0
    assert metrics(ref, ref)["l2r"] == 0.0 and metrics(ref, ref)["cosine"] == 1.0
    assert metrics(ref[:, :1], test[:, :1])["top1_agreement"] is None  # one value per sample: no classes


def test_labels_forms():
    assert check_labels(np.array([[0, 1], [1, 0]]), 2).tolist() == [1, 0]  # one-hot
    assert check_labels(np.array([[3], [4]]), 2).tolist() == [3, 4]
    assert check_labels(np.array([1.0, 2.0]), 2).tolist() == [1, 2]
    with pytest.raises(Exception, match="integer class indices"):
        check_labels(np.array([0.5, 1.0]), 2)


def test_onnx_source_runs_under_onnxruntime(digits, tmp_path):
    """The PyTorch-exported digits CNN: NCHW data in, compared with onnxruntime, per layer too."""
    x = np.load(digits["x"]).transpose(0, 3, 1, 2)[:100]
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.load(digits["y"])[:100])
    out = tmp_path / "onnx"
    p = tinygen("build", ROOT / "examples" / "digits_cnn_torch.onnx", "-o", out, "--calib",
                ROOT / "examples" / "digits_calib_nchw.npy")
    assert p.returncode == 0, p.stderr
    p = tinygen("validate", out, "--data", tmp_path / "x.npy", "--labels", tmp_path / "y.npy", "--per-layer")
    assert p.returncode == 0, p.stderr
    v = json.loads((out / "report.json").read_text())["validation"]
    assert "ONNX" in v["reference"] and "onnxruntime" in v["reference"] and v["reference_is_float"]
    assert v["accuracy"]["reference"] > 0.9 and abs(v["accuracy"]["c"] - v["accuracy"]["reference"]) <= 0.03
    assert v["outputs"][0]["cosine"] > 0.99 and len(v["per_layer"]["layers"]) >= 5
    # NHWC data for an ONNX build is the wrong layout: refused in one line
    np.save(tmp_path / "nhwc.npy", np.load(digits["x"])[:4])
    assert_clean_error(tinygen("validate", out, "--data", tmp_path / "nhwc.npy"), "expected shape")
