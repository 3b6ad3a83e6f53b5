"""GRU / SimpleRNN (tg_rnn_s8, tg_rnn_s16) under ASan + UBSan: int8 and 16x8 cells (both FC paths, reset
before / after, go_backwards, RNN relu, a stateful cell whose state carries over), both kernel paths,
random and extreme inputs run in sequence; no report, and outputs equal to the ordinary -O2 builds (which
tests/kernels/test_gru.py checks against TFLM). The runtime files pass cppcheck."""
from __future__ import annotations

import subprocess

import pytest

from test_gru import CASES, cell_graph, quantized
from test_hardening import CPPCHECK, _inputs, sanitized_run_equals_normal_builds
from tinygen.ir import OpKind
from tinygen.paths import runtime_file
from tinygen.quant.gru import CellAttrs
from tinygen.verify.hostbuild import KERNEL_PATHS

GRAPHS = {
    "gru_fast": lambda a: cell_graph(*CASES["gru_fast"]),
    "gru_before_backwards": lambda a: cell_graph(*CASES["gru_before_backwards"]),
    "rnn_relu_backwards": lambda a: cell_graph(*CASES["rnn_relu_backwards"]),
    "gru_stateful": lambda a: cell_graph(OpKind.GRU, 3, 5, 6, CellAttrs(return_sequences=True), stateful=True),
}


@pytest.mark.parametrize("kernel_path", KERNEL_PATHS)
@pytest.mark.parametrize("activations", ["int8", "int16"])
@pytest.mark.parametrize("key", sorted(GRAPHS))
def test_sanitizers_are_silent(key, activations, kernel_path, tmp_path):
    graph, _, _ = quantized(GRAPHS[key](activations), activations=activations)
    sanitized_run_equals_normal_builds(graph, tmp_path, _inputs(graph, n=6, seed=4), kernel_path,
                                       f"{key}_{activations}")


def test_rnn_runtime_files_pass_cppcheck():
    files = [str(runtime_file(f"tg_rnn_{t}.c")) for t in ("s8", "s16")]
    dirs = sorted({str(runtime_file(n).parent) for n in ("tg_common.h", "tg_rnn_s8.h", "tg_add.h", "tg_math.h",
                                                         "tg_fully_connected_s8.h", "tg_sigmoid_s16.h",
                                                         "tg_quantize_s8.h")})
    p = subprocess.run([*CPPCHECK, *(f"-I{d}" for d in dirs), *files], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
