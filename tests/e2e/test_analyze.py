"""`tinygen analyze`: op support, sizes and per-board estimates without a C build; against real builds."""
from __future__ import annotations

import subprocess

import numpy as np
import pytest

from tests.e2e.test_cli import assert_clean_error, tinygen
from tinygen.analyze import analyze
from tinygen.codegen.estimate import CPI
from tinygen.target.boards import board_names

KWS = "mlperf/kws/kws_ref_model.tflite"


def test_kws_prints_the_per_board_table(models_dir):
    p = tinygen("analyze", models_dir / KWS, "--board", "all")
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "13 layers, every op supported" in out and "MACs 2,656,768" in out and "weights 55,792 B" in out
    header = next(ln for ln in out.splitlines() if "RAM need / has" in ln)
    assert "flash need / has" in header and "est. ms" in header and "est. uJ" in header
    rows = {ln.split()[0]: ln for ln in out.splitlines() if ln.strip() and ln.split()[0] in board_names()}
    assert set(rows) == set(board_names())
    assert all(" yes " in rows[b] for b in ("cortex-m4", "nrf52840dk", "stm32f746g-disco"))
    fits = sum(ln.split()[-3] == "yes" for ln in rows.values())  # the columns: ..., fits, est. ms, est. uJ
    assert f"fits {fits} of {len(rows)} boards" in out and fits >= 15  # KWS fits all but the smallest
    assert "estimates, not measurements" in out and "cycles per instruction" in out


def test_kws_figures_are_consistent_per_board(models_dir):
    r = analyze(models_dir / KWS, boards=board_names())
    assert r["supported"] and r["arena_bytes"] == 8640
    for row in r["boards"]:
        assert row["ms"] == pytest.approx(1e3 * row["cycles"] / row["clock_hz"], rel=1e-3)
        assert row["uj"] > 0 and row["flash_needed"] > r["weights_bytes"]
        assert row["fits"] == (row["ram_needed"] <= row["ram_bytes"] and row["flash_needed"] <= row["flash_bytes"])
    by = {row["board"]: row for row in r["boards"]}
    # the same core: the same cycles; a faster clock: less time
    assert by["nucleo-l4r5zi"]["cycles"] == by["cortex-m4"]["cycles"]
    assert by["nucleo-l4r5zi"]["ms"] < by["cortex-m4"]["ms"]
    assert by["nrf52840dk"]["power_published"] and not by["cortex-m4"]["power_published"]


def test_estimates_against_a_real_build(models_dir, tmp_path):
    """The flash estimate against the linked image (arm-none-eabi-size), and the instruction estimate
    against QEMU -icount (tinygen bench), for the generic cortex-m4."""
    from tinygen.verify.qemu import bench

    out = tmp_path / "kws"
    p = tinygen("build", models_dir / KWS, "-o", out, "--board", "cortex-m4")
    assert p.returncode == 0, p.stderr
    r = analyze(models_dir / KWS, boards=["cortex-m4"])["boards"][0]
    measured = bench(out)
    size = subprocess.run(["arm-none-eabi-size", str(out / "build" / "firmware.elf")], capture_output=True,
                          text=True, check=True).stdout.splitlines()[1].split()
    image = int(size[0]) + int(size[1])
    assert abs(r["flash_needed"] - image) / image < 0.15, (r["flash_needed"], image)
    insns = r["cycles"] / CPI["cortex-m4"]
    assert abs(insns - measured["instructions"]) / measured["instructions"] < 0.15
    import json

    report = json.loads((out / "report.json").read_text())
    assert report["estimate"]["cycles"] == r["cycles"]  # the build report and analyze agree


def _patched_tflite(src, dst, opname: str) -> None:
    """A copy of `src` whose every operator of the first opcode becomes `opname` (a builtin tinygen lacks)."""
    import flatbuffers
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(src.read_bytes(), 0))
    code = getattr(schema.BuiltinOperator, opname)
    model.operatorCodes[0].builtinCode = code
    model.operatorCodes[0].deprecatedBuiltinCode = min(code, 127)
    b = flatbuffers.Builder(1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    dst.write_bytes(bytes(b.Output()))


def test_every_unsupported_tflite_layer_is_listed(models_dir, tmp_path):
    bad = tmp_path / "cos.tflite"
    _patched_tflite(models_dir / "tflm/hello_world/hello_world_int8.tflite", bad, "COS")
    r = analyze(bad)
    assert not r["supported"] and len(r["unsupported"]) == 3  # hello_world's three FULLY_CONNECTED ops
    assert all(u["op"] == "COS" for u in r["unsupported"])
    p = tinygen("analyze", bad)
    assert p.returncode == 1 and "NOT supported" in p.stdout
    assert sum("unsupported: layer" in ln for ln in p.stdout.splitlines()) == 3


def test_every_unsupported_keras_layer_is_listed(tmp_path):
    import keras

    inp = keras.Input((8, 8, 1))
    x = keras.layers.Flatten()(keras.layers.Conv2D(4, 3, name="conv")(inp))
    x = keras.layers.UnitNormalization(name="un1")(x)
    x = keras.layers.UnitNormalization(name="un2")(keras.layers.Dense(4)(x))
    keras.Model(inp, x).save(tmp_path / "m.keras")
    r = analyze(tmp_path / "m.keras")
    assert not r["supported"] and [u["layer"] for u in r["unsupported"]] == ["un1", "un2"]
    assert {u["op"] for u in r["unsupported"]} == {"UnitNormalization"}


def test_single_board_shows_layers_and_flash_parts(models_dir):
    p = tinygen("analyze", models_dir / "tflm/hello_world/hello_world_int8.tflite", "--board", "rpi-pico")
    assert p.returncode == 0, p.stderr
    assert "board rpi-pico (cortex-m0plus at 125 MHz)" in p.stdout and "fits" in p.stdout
    assert "est. cycles" in p.stdout and "estimated" in p.stdout and "uJ per inference" in p.stdout


def test_float_model_without_calibration_says_synthetic(tmp_path):
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    p = tinygen("analyze", root / "examples" / "digits_cnn.keras")
    assert p.returncode == 0, p.stderr
    assert "synthetic samples" in p.stdout
    np.save(tmp_path / "c.npy", np.load(root / "examples" / "digits_calib.npy"))
    p = tinygen("analyze", root / "examples" / "digits_cnn.keras", "--calib", tmp_path / "c.npy")
    assert p.returncode == 0, p.stderr
    assert "synthetic" not in p.stdout


def test_build_options_change_the_figures():
    from pathlib import Path

    model = Path(__file__).resolve().parents[2] / "examples" / "digits_cnn.keras"
    base = analyze(model)
    int4 = analyze(model, weights="int4")
    wide = analyze(model, activations="int16")
    assert int4["weights_bytes"] < base["weights_bytes"] and wide["arena_bytes"] > base["arena_bytes"]
    assert any(k.endswith("_s16") for k in wide["kernels"])
    p = tinygen("analyze", model, "--weights", "int4")
    assert p.returncode == 0, p.stderr
    assert f"weights {int4['weights_bytes']:,} B" in p.stdout


@pytest.mark.parametrize("case", ["missing model", "unknown board", "missing calib"])
def test_bad_input_is_one_line(tmp_path, models_dir, case):
    model = models_dir / KWS
    if case == "missing model":
        p, needles = tinygen("analyze", tmp_path / "nope.tflite"), ("nope.tflite", "no such model file")
    elif case == "unknown board":
        p, needles = tinygen("analyze", model, "--board", "nope"), ("unknown board 'nope'", "cortex-m4")
    else:
        p, needles = tinygen("analyze", model, "--calib", tmp_path / "c.npy"), ("c.npy", "no such calibration")
    assert_clean_error(p, *needles)
