"""What tinygen prints and claims: a quiet command line, and `verify` naming every oracle that ran.

The command runs as a user would: a separate process, TensorFlow's start-up messages forced on
(TF_ENABLE_ONEDNN_OPTS=1, no TF_CPP_MIN_LOG_LEVEL), and a working folder that is not where the
model was built.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DIGITS = ROOT / "examples" / "digits_cnn.keras"
CALIB = ROOT / "examples" / "digits_calib.npy"


def tinygen(*args, cwd, verbose=False):
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "TINYGEN_DEBUG",
                                                           "TINYGEN_VERBOSE")}
    env["TF_ENABLE_ONEDNN_OPTS"] = "1"  # makes TensorFlow print its oneDNN line on every CPU
    cmd = [sys.executable, "-m", "tinygen.cli", *(["--verbose"] if verbose else []), *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env, timeout=600)


def foreign_lines(proc) -> list:
    """Lines on stderr that tinygen did not write (tinygen's own all start with 'tinygen:')."""
    return [ln for ln in proc.stderr.splitlines() if ln.strip() and not ln.startswith("tinygen:")]


def test_every_command_is_quiet_on_a_keras_model(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    np.save(tmp_path / "x.npy", np.load(CALIB)[:4])
    steps = [
        ("build", DIGITS, "-o", tmp_path / "out", "--calib", CALIB),
        ("run", tmp_path / "out", "--input", tmp_path / "x.npy", "--output", tmp_path / "y.npy"),
        ("verify", tmp_path / "out", "--samples", "3"),
        ("report", tmp_path / "out"),
        ("export-tflite", tmp_path / "out", tmp_path / "m.tflite"),
        ("boards",),
    ]
    for step in steps:
        proc = tinygen(*step, cwd=work)
        assert proc.returncode == 0, (step[0], proc.stdout, proc.stderr)
        assert foreign_lines(proc) == [], (step[0], proc.stderr)
        assert "oneDNN" not in proc.stdout and "absl" not in proc.stdout, (step[0], proc.stdout)


def test_verbose_shows_what_tensorflow_prints(tmp_path):
    """The quiet test above can fail: with --verbose, TensorFlow's own lines do reach stderr."""
    proc = tinygen("build", DIGITS, "-o", tmp_path / "out", "--calib", CALIB, cwd=tmp_path, verbose=True)
    assert proc.returncode == 0, proc.stderr
    assert foreign_lines(proc), "TensorFlow printed nothing; the quiet test proves nothing on this machine"


def test_error_on_keras_model_is_one_line(tmp_path):
    proc = tinygen("build", DIGITS, "-o", tmp_path / "out", "--calib", tmp_path / "missing.npy", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [f"tinygen: error: {tmp_path / 'missing.npy'}: no such calibration file"]


def test_verify_tflite_build_from_another_folder(models_dir, tmp_path):
    """The build keeps a copy of the source model, so TFLM runs wherever verify is called from."""
    src = models_dir / "tflm/hello_world/hello_world_int8.tflite"
    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir()
    there.mkdir()
    rel = os.path.relpath(src, here)
    assert tinygen("build", rel, "-o", "hw", cwd=here).returncode == 0
    proc = tinygen("verify", here / "hw", "--samples", "4", cwd=there)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "TFLM interpreter (tflite-micro" in proc.stdout and "hello_world_int8.tflite: 0 differing bytes" in proc.stdout
    assert "OK: bit-exact with TFLM and the NumPy reference" in proc.stdout
    manifest = json.loads((here / "hw" / "tinygen.json").read_text())
    assert manifest["source"]["kind"] == "tflite" and len(manifest["source"]["sha256"]) == 64

    copy = here / "hw" / ".tinygen" / "source.tflite"
    data = bytearray(copy.read_bytes())
    data[-1] ^= 0xFF
    copy.write_bytes(bytes(data))
    proc = tinygen("verify", here / "hw", "--samples", "2", cwd=there)
    assert proc.returncode == 1
    assert "did not run" in proc.stdout and "sha256" in proc.stdout and "OK" not in proc.stdout


def test_verify_keras_build_runs_tflm_on_the_export(tmp_path):
    assert tinygen("build", DIGITS, "-o", tmp_path / "d", "--calib", CALIB, cwd=tmp_path).returncode == 0
    proc = tinygen("verify", tmp_path / "d", "--samples", "4", cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "exported to .tflite: 0 differing bytes" in proc.stdout
    assert "OK: bit-exact with TFLM and the NumPy reference" in proc.stdout


def test_verify_without_tflm_fails_unless_allowed(tmp_path):
    """A GELU activation becomes tinygen's table op, which no .tflite holds: TFLM cannot run, and verify does
    not claim it did."""
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="gelu"), keras.layers.Dense(3)])
    model.save(tmp_path / "gelu.keras")
    np.save(tmp_path / "calib.npy", np.random.default_rng(0).normal(size=(32, 6)).astype(np.float32))
    args = ("build", tmp_path / "gelu.keras", "-o", tmp_path / "k", "--calib", tmp_path / "calib.npy")
    assert tinygen(*args, cwd=tmp_path).returncode == 0
    proc = tinygen("verify", tmp_path / "k", "--samples", "3", cwd=tmp_path)
    assert proc.returncode == 1
    assert "TFLM interpreter: did not run" in proc.stdout and "bit-exact" not in proc.stdout.replace("bit-exactness", "")
    proc = tinygen("verify", tmp_path / "k", "--samples", "3", "--allow-missing-oracle", cwd=tmp_path)
    assert proc.returncode == 0
    assert "OK: bit-exact with the NumPy reference (TFLM did not run; allowed)" in proc.stdout


def test_verify_reports_a_difference_from_tflm(models_dir, tmp_path):
    """A build whose C disagrees with TFLM fails verify: the saved graph is edited after the build."""
    src = models_dir / "tflm/hello_world/hello_world_int8.tflite"
    assert tinygen("build", src, "-o", tmp_path / "hw", cwd=tmp_path).returncode == 0
    model_c = tmp_path / "hw" / "model" / "model.c"
    text = model_c.read_text()
    # the first layer's first bias, shifted: the C (and only the C) now computes another value
    at = text.index("_bias[")
    brace = text.index("{", at) + 1
    model_c.write_text(text[:brace] + "100000 + " + text[brace:])
    proc = tinygen("verify", tmp_path / "hw", "--samples", "4", cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout
    assert "FAILED: outputs differ from TFLM" in proc.stdout


def test_training_with_accuracy_metric(tmp_path):
    """The pinned Keras trains a model compiled with metrics=['accuracy'] (a broken upgrade shows here)."""
    import keras

    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 8, 8, 1)).astype("float32")
    y = (x.mean(axis=(1, 2, 3)) > 0).astype("int64")
    inp = keras.Input((8, 8, 1))
    h = keras.layers.Conv2D(4, 3, activation="relu")(inp)
    h = keras.layers.Flatten()(h)
    model = keras.Model(inp, keras.layers.Dense(2, activation="softmax")(h))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    hist = model.fit(x, y, epochs=2, batch_size=16, verbose=0, validation_split=0.25)
    assert 0.0 <= hist.history["accuracy"][-1] <= 1.0 and "val_accuracy" in hist.history
    model.save(tmp_path / "m.keras")
    np.save(tmp_path / "x.npy", x[:16])
    proc = tinygen("build", tmp_path / "m.keras", "-o", tmp_path / "o", "--calib", tmp_path / "x.npy", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
