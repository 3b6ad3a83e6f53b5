"""UNIDIRECTIONAL_SEQUENCE_LSTM under ASan + UBSan: the zoo LSTM and written 16x8 / int8 LSTMs (batches,
time-major, cell clip, zero points), both kernel paths, random and extreme inputs run in sequence (the state
carries over, in the sanitized driver as in the ordinary builds); no report, and outputs equal to the
ordinary -O2 builds (which tests/kernels/test_lstm.py checks against TFLM). The runtime files pass cppcheck."""
from __future__ import annotations

import subprocess

import pytest

from lstm_models import raw_lstm_model
from oracle import MODELS
from test_hardening import CPPCHECK, _inputs, sanitized_run_equals_normal_builds
from tinygen.compiler import load_model
from tinygen.paths import runtime_file
from tinygen.verify.hostbuild import KERNEL_PATHS

WRITTEN = {
    "lstm16_batch_clip": dict(units=6, features=7, steps=3, mode="int16", batch=3, time_major=True, cell_clip=1.0,
                              cell_log2=-10, x_zero_point=11, h_zero_point=-5),
    "lstm16_long_rows": dict(units=3, features=300, steps=2, mode="int16", weight_std=127.0),
    "lstm8_zero_points": dict(units=5, features=3, steps=4, mode="int8", cell_clip=0.5, h_zero_point=7, batch=2),
}


def _graph(key: str, tmp_path):
    if key == "zoo":
        return load_model(str(MODELS / "zoo" / "coraltd__keras_lstm_mnist_ptq.tflite"))
    path = tmp_path / f"{key}.tflite"
    path.write_bytes(raw_lstm_model(**WRITTEN[key]))
    return load_model(str(path))


@pytest.mark.parametrize("kernel_path", KERNEL_PATHS)
@pytest.mark.parametrize("key", ["zoo", *sorted(WRITTEN)])
def test_sanitizers_are_silent(key, kernel_path, tmp_path):
    graph = _graph(key, tmp_path)
    sanitized_run_equals_normal_builds(graph, tmp_path, _inputs(graph, n=6, seed=4), kernel_path, key)


def test_lstm_runtime_files_pass_cppcheck():
    files = [str(runtime_file(f"tg_lstm_{t}.c")) for t in ("s8", "s16")]
    dirs = sorted({str(runtime_file(n).parent) for n in ("tg_common.h", "tg_lstm.h", "tg_sigmoid_s16.h")})
    p = subprocess.run([*CPPCHECK, *(f"-I{d}" for d in dirs), *files], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
