"""The hardening checks of test_hardening.py on the beyond-int8 kernels: every low-bit weight scheme
and int16 activations (tinygen's PTQ of the digits CNN, and the shared 16x8 single-op models).

ASan + UBSan build == the ordinary build on full-range inputs, on both kernel paths (portable C and the
device SIMD path emulated); -Wconversion -Wsign-conversion clean on both;
cppcheck clean; byte-identical generation across processes (k-means is deterministic).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygen import compiler
from tinygen.compiler import load_model
from tinygen.verify.hostbuild import KERNEL_PATHS, kernel_path_cflags

from test_hardening import CPPCHECK, _elide_initializers, _gcc, _inputs, _write_model, sanitized_run_equals_normal_builds

ROOT = Path(__file__).resolve().parents[2]
DIGITS = ROOT / "examples" / "digits_cnn.keras"
CALIB = ROOT / "examples" / "digits_calib.npy"
SCHEMES = ("int4", "kmeans4", "kmeans3", "kmeans2", "ternary", "binary", "int8c")
INT16_OPS = ("add/add0", "conv/conv0", "leaky_relu/leaky_relu0", "pad/pad0", "quantize/quantize0",
             "strided_slice/strided_slice0", "sub/sub0", "transpose_conv/transpose_conv0")


def _digits(weights="int8", activations="int8"):
    return compiler.quantize(load_model(str(DIGITS)), np.load(CALIB)[:64], weights=weights, activations=activations)


def _usad_ternary():
    """Ternary layers on tg_conv2d_usad_t beyond digits': 1x1, gathered 3x3 windows with an odd channel count,
    windows from a strip (in_c 3, stride 2, dilation 2), a batched FULLY_CONNECTED and one of a single batch
    (tg_fully_connected_usad_t) whose depth is not a multiple of 4."""
    from test_kernels_conv import Case
    from test_lowbit import encoded
    from tinygen.ir import OpKind

    c = OpKind.CONV_2D
    return encoded([Case(c, (1, 8, 9, 64), out_c=9, kernel=(1, 1), zp_in=-128),
                    Case(c, (1, 9, 8, 16), out_c=7, kernel=(3, 3), zp_in=127),
                    Case(c, (1, 9, 11, 3), out_c=5, kernel=(3, 3), stride=(2, 2), zp_in=-128),
                    Case(c, (1, 9, 11, 3), out_c=4, kernel=(3, 2), dilation=(2, 2), zp_in=100),
                    Case(OpKind.FULLY_CONNECTED, (65, 64), out_c=6),
                    Case(OpKind.FULLY_CONNECTED, (1, 37), out_c=5)], "ternary", seed=2)


def _cases(models_dir=None) -> dict:
    cases = {f"digits_{s}": (lambda s=s: _digits(weights=s)) for s in SCHEMES}
    cases["digits_int16"] = lambda: _digits(activations="int16")
    cases["usad_ternary"] = _usad_ternary
    if models_dir is not None:
        for rel in INT16_OPS:
            cases[f"int16_{rel.split('/')[1]}"] = (
                lambda rel=rel: load_model(models_dir / "tflm" / "int16_ops" / f"{rel}.tflite"))
    return cases


@pytest.mark.slow
@pytest.mark.parametrize("kernel_path", KERNEL_PATHS)
@pytest.mark.parametrize("key", sorted(_cases(Path("x"))))
def test_sanitizers_clean_and_equal_normal_build(key, kernel_path, models_dir, tmp_path):
    graph = _cases(models_dir)[key]()
    sanitized_run_equals_normal_builds(graph, tmp_path, _inputs(graph, n=8), kernel_path, key)


def test_wconversion_and_cppcheck_clean(models_dir, tmp_path):
    warnings = []
    for key, make in sorted(_cases(models_dir).items()):
        src = _write_model(make(), tmp_path / key)
        for c in sorted(src.glob("*.c")):
            for path in KERNEL_PATHS:
                p = subprocess.run([_gcc(), "-std=c99", "-O2", "-fsyntax-only", "-Wall", "-Wextra", "-Wpedantic",
                                    "-Wshadow", "-Wconversion", "-Wsign-conversion", *kernel_path_cflags(path),
                                    c.name], capture_output=True, text=True, cwd=src)
                warnings += [f"{key} ({path}): {ln}" for ln in p.stderr.splitlines() if "warning:" in ln]
        if shutil.which("cppcheck") is None:
            pytest.fail("cppcheck is not installed (scripts/sysdeps.sh installs it)")
        (src / "model.c").write_text(_elide_initializers((src / "model.c").read_text()))
        p = subprocess.run([*CPPCHECK, "-I", str(src), str(src)], capture_output=True, text=True, timeout=900)
        warnings += [f"{key}: cppcheck: {ln}" for ln in p.stderr.splitlines() if ln.strip()]
    assert not warnings, "\n".join(sorted(set(warnings)))


_HASH_SCRIPT = """
import hashlib, sys
import numpy as np
from tinygen import compiler
q = compiler.quantize(compiler.load_model(sys.argv[1]), np.load(sys.argv[2])[:64], weights="auto",
                      budget_flash=5200)
r = compiler.generate(q, name="m")
h = hashlib.sha256()
for name, text in sorted(r.files.items()):
    h.update(name.encode() + b"\\0" + text.encode() + b"\\0")
print(h.hexdigest(), sorted(set(t.encoding or "int8" for t in q.tensors.values() if t.is_const)))
"""


def test_mixed_generation_is_deterministic_across_processes():
    """k-means, the sensitivities and the knapsack give byte-identical sources in fresh interpreters."""
    outs = set()
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        p = subprocess.run([sys.executable, "-c", _HASH_SCRIPT, str(DIGITS), str(CALIB)],
                           capture_output=True, text=True, env=env, timeout=600)
        assert p.returncode == 0, p.stderr[-2000:]
        outs.add(p.stdout.strip().splitlines()[-1])
    assert len(outs) == 1, outs
    assert "kmeans4" in outs.pop()  # the mix really contains a palettized layer
