"""The shared models as Cortex-M firmware: built with -Werror, run under QEMU, equal to host and TFLM.

Also: every board builds the KWS firmware, every QEMU board's `make qemu` prints the host output for
the embedded input, and a model too big for a board is refused at build time with the numbers.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import tinygen
import tinygen.verify.runner
from oracle import num_outputs, tflm_interpreter, tflm_run_with
from tinygen.target.boards import list_boards
from oracle import INT8_MODELS

MODELS = {k: v for k, v in INT8_MODELS.items() if k != "micro_speech"}


@pytest.fixture(autouse=True)
def _tools():
    missing = [t for t in ("arm-none-eabi-gcc", "qemu-system-arm", "make") if shutil.which(t) is None]
    if missing:
        pytest.fail(f"missing tools {missing}: run `make sysdeps`")


def _make(out, *args):
    return subprocess.run(["make", "-s", *args], cwd=out, capture_output=True, text=True, timeout=600)


@pytest.mark.qemu
@pytest.mark.parametrize("key", sorted(MODELS))
def test_model_on_cortex_m4_equals_host_and_tflm(key, models_dir, tmp_path):
    path = models_dir / MODELS[key]
    out = tmp_path / key
    result = tinygen.compile(str(path), out, board="cortex-m4", name=key)
    assert "-Werror" in (out / "Makefile").read_text()
    shape = tuple(result.report["inputs"][0]["shape"])
    rng = np.random.default_rng(5)
    xs = [rng.integers(-128, 128, size=shape, dtype=np.int64).astype(np.int8) for _ in range(3)]
    xs += [np.full(shape, -128, np.int8), np.full(shape, 127, np.int8)]
    sample = shape[1:] if shape[0] == 1 else shape
    batch = np.stack(xs).reshape((len(xs),) + sample)
    on_target = tinygen.run(out, [batch], target="qemu")[0]
    host = tinygen.run(out, [batch])[0]
    np.testing.assert_array_equal(on_target, host)
    interp = tflm_interpreter(path)
    for i, x in enumerate(xs):
        ref = tflm_run_with(interp, [x], num_outputs(path))[0]
        np.testing.assert_array_equal(on_target[i].reshape(ref.shape), ref)


@pytest.mark.parametrize("board", [b.name for b in list_boards()])
def test_every_board_builds_kws(board, models_dir, tmp_path):
    out = tmp_path / "kws"
    tinygen.compile(str(models_dir / MODELS["kws"]), out, board=board, name="kws")
    proc = _make(out)
    assert proc.returncode == 0, proc.stderr
    b = next(x for x in list_boards() if x.name == board)
    dry = _make(out, "-n", "flash")
    if b.flash_command:
        assert dry.stdout.split()[0] == b.flash_command.split()[0], dry.stdout
    if b.qemu_machine:
        run = _make(out, "qemu")
        log = run.stdout + run.stderr
        assert run.returncode == 0, log
        host = tinygen.run(out, [_embedded_input(out)])[0]
        assert f"output0: {host.tobytes().hex()}" in log, log


def _embedded_input(out) -> np.ndarray:
    """The test input the firmware carries, read back from its generated header."""
    text = (out / "firmware" / "tg_test_data.h").read_text()
    body = text[text.index("{", text.index("tg_test_input0")) + 1:]
    body = body[:body.index("}")]
    values = [int(v, 0) for v in re.findall(r"-?0x[0-9a-fA-F]+|-?\d+", body)]
    data = np.array(values, dtype=np.int64).astype(np.uint8).view(np.int8)
    manifest = tinygen.verify.runner.read_manifest(out)
    shape = tinygen.verify.runner.sample_shape(manifest["inputs"][0]["shape"])
    return data.reshape((1,) + shape)


def test_too_big_for_board_is_refused(models_dir, tmp_path):
    out = tmp_path / "vww"
    proc = subprocess.run([sys.executable, "-m", "tinygen.cli", "build", str(models_dir / MODELS["vww"]), "-o",
                           str(out), "--board", "cortex-m0plus"], capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    line = proc.stderr.strip()
    assert "\n" not in line and "cortex-m0plus" in line and re.search(r"\d{1,3}(,\d{3})+", line), line
    assert not out.exists()
