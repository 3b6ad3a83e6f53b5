"""The command line: build/run/verify on a real model, and clean one-line errors on bad input."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np


def tinygen(*args, cwd=None):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("TINYGEN_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "tinygen.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=600)


def assert_clean_error(proc, *needles):
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def test_build_run_verify_hello_world(models_dir, tmp_path):
    out = tmp_path / "hw"
    p = tinygen("build", models_dir / "tflm/hello_world/hello_world_int8.tflite", "-o", out, "--name", "sine")
    assert p.returncode == 0, p.stderr
    assert "arena" in p.stdout
    est = json.loads((out / "report.json").read_text())["estimate"]  # the summary repeats the report's estimate
    assert f"estimated: {est['ms']:,.2f} ms, {est['uj']:,.1f} uJ per inference at 25 MHz" in p.stdout
    assert (out / "model" / "sine.c").is_file() and (out / "report.json").is_file()  # files follow --name
    x = np.linspace(-128, 127, 24).astype(np.int8).reshape(24, 1)
    np.save(tmp_path / "x.npy", x)
    p = tinygen("run", out, "--input", tmp_path / "x.npy", "--output", tmp_path / "y.npy")
    assert p.returncode == 0, p.stderr
    y = np.load(tmp_path / "y.npy")
    assert y.shape == (24, 1) and y.dtype == np.int8
    p = tinygen("verify", out, "--samples", "5")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "on source model hello_world_int8.tflite: 0 differing bytes" in p.stdout
    assert "OK: bit-exact with TFLM and the NumPy reference" in p.stdout


def test_missing_model_file(tmp_path):
    p = tinygen("build", tmp_path / "nope.tflite", "-o", tmp_path / "out")
    assert_clean_error(p, "nope.tflite")
    assert not (tmp_path / "out").exists()


def test_garbage_tflite_leaves_no_output(tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"\x10\x00\x00\x00TFL3" + bytes(range(200)))
    before = bad.read_bytes()
    p = tinygen("build", bad, "-o", tmp_path / "out")
    assert_clean_error(p, "bad.tflite")
    assert not (tmp_path / "out").exists()
    assert not [x for x in tmp_path.iterdir() if x.name.startswith(".out")]
    assert bad.read_bytes() == before


def test_unsupported_op_names_layer_and_op(tmp_path):
    import keras
    from tfconvert import convert

    inp = keras.Input((4, 4, 2))
    y = keras.layers.Conv2DTranspose(2, 3, name="deconv")(inp)
    model = keras.Model(inp, y)
    path = tmp_path / "deconv.tflite"
    path.write_bytes(convert(model, np.random.default_rng(0).standard_normal((8, 4, 4, 2))))
    p = tinygen("build", path, "-o", tmp_path / "out")
    assert_clean_error(p, "TRANSPOSE_CONV")
    assert not (tmp_path / "out").exists()


def test_unsupported_keras_layer(tmp_path):
    import keras
    inp = keras.Input((5, 6, 3))  # (LSTM, this test's first layer, is supported now)
    y = keras.layers.ConvLSTM1D(2, 3, name="clstm_1")(inp)
    model = keras.Model(inp, y)
    path = tmp_path / "clstm.keras"
    model.save(path)
    p = tinygen("build", path, "-o", tmp_path / "out")
    assert_clean_error(p, "clstm_1", "ConvLSTM1D")
    assert not (tmp_path / "out").exists()


def test_bad_name_and_board(models_dir, tmp_path):
    model = models_dir / "tflm/hello_world/hello_world_int8.tflite"
    assert_clean_error(tinygen("build", model, "-o", tmp_path / "o", "--name", "1bad-name"), "--name")
    assert_clean_error(tinygen("build", model, "-o", tmp_path / "o", "--board", "pdp11"), "pdp11")
    assert not (tmp_path / "o").exists()


def test_run_rejects_wrong_shape(models_dir, tmp_path):
    out = tmp_path / "hw"
    assert tinygen("build", models_dir / "tflm/hello_world/hello_world_int8.tflite", "-o", out).returncode == 0
    np.save(tmp_path / "x.npy", np.zeros((3, 5), np.float32))
    assert_clean_error(tinygen("run", out, "--input", tmp_path / "x.npy"), "expected shape")


def test_bench_help_exists():
    p = tinygen("bench", "--help")
    assert p.returncode == 0 and "--json" in p.stdout
