"""Builds with the model's inputs and outputs in the arena (--io-in-arena) equal TFLM byte for byte.

Both C entry points are run: <name>_invoke_io (copies the caller's buffers in and out; the host
harness, `tinygen run` and the firmware use it) and the copy-free <name>_input() / <name>_run() /
<name>_output(). The float entry point gives the same floats as the default build's, and the QEMU
firmware of VWW and person_detect equals the host and TFLM.
"""
from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest

import tinygen
from oracle import INT8_MODELS, num_outputs, tflm_interpreter, tflm_run_with
from tinygen.verify.hostbuild import build_extension


def _batch(shape, n=3, seed=5):
    rng = np.random.default_rng(seed)
    xs = [rng.integers(-128, 128, size=shape, dtype=np.int64).astype(np.int8) for _ in range(n)]
    xs += [np.full(shape, -128, np.int8), np.full(shape, 127, np.int8)]
    sample = shape[1:] if shape[0] == 1 else shape
    return xs, np.stack(xs).reshape((len(xs),) + sample)


def _compile(path, out, name, **kw):
    return tinygen.compile(str(path), out, name=name, io_in_arena=True, measure_stack=False,
                           compare_tflm_arena=False, **kw)


def _assert_equals_tflm(path, xs, outs):
    interp = tflm_interpreter(path)
    for i, x in enumerate(xs):
        ref = tflm_run_with(interp, [x], num_outputs(path))[0]
        np.testing.assert_array_equal(outs[i].reshape(ref.shape), ref)


def _copy_free(out, name, xs, out_shape, out_dtype):
    """Run each sample by writing <name>_input(), calling <name>_run() and reading <name>_output()."""
    model_dir = out / "model"
    cdef = (f"void *{name}_input_at(int32_t index);\nvoid *{name}_output_at(int32_t index);\n"
            f"int {name}_run(void);")
    ffi, lib = build_extension(cdef, f'#include "{name}.h"', sorted(model_dir.glob("*.c")), [model_dir])
    assert getattr(lib, f"{name}_input_at")(1) == ffi.NULL and getattr(lib, f"{name}_output_at")(1) == ffi.NULL
    got = []
    for x in xs:
        x = np.ascontiguousarray(x)
        ffi.memmove(getattr(lib, f"{name}_input_at")(0), ffi.from_buffer(x), x.nbytes)
        assert getattr(lib, f"{name}_run")() == 0
        y = np.empty(out_shape, out_dtype)
        ffi.memmove(ffi.from_buffer(y), getattr(lib, f"{name}_output_at")(0), y.nbytes)
        got.append(y)
    return got


@pytest.mark.parametrize("key", ["ic", "ad", "hello_world", "micro_speech", "kws"])
def test_host_both_entry_points_equal_tflm(key, models_dir, tmp_path):
    path = models_dir / INT8_MODELS[key]
    result = _compile(path, tmp_path / key, key, firmware=False)
    assert result.report["io_in_arena"]
    shape = tuple(result.report["inputs"][0]["shape"])
    xs, batch = _batch(shape)
    host = tinygen.run(tmp_path / key, [batch])[0]
    _assert_equals_tflm(path, xs, host)
    o = result.report["outputs"][0]
    direct = _copy_free(tmp_path / key, key, xs, tuple(o["shape"]), np.dtype(o["dtype"]))
    for i, y in enumerate(direct):
        np.testing.assert_array_equal(y.reshape(-1), np.asarray(host[i]).reshape(-1))


def test_float_entry_point_equals_the_default_build(models_dir, tmp_path):
    path = models_dir / INT8_MODELS["kws"]
    outs = {}
    for flag in (False, True):
        out = tmp_path / f"kws{int(flag)}"
        r = tinygen.compile(str(path), out, name="kws", io_in_arena=flag, firmware=False, measure_stack=False,
                            compare_tflm_arena=False)
        n_in = int(np.prod(r.report["inputs"][0]["shape"]))
        n_out = int(np.prod(r.report["outputs"][0]["shape"]))
        model_dir = out / "model"
        ffi, lib = build_extension("int kws_invoke_float(const float *input, float *output);", '#include "kws.h"',
                                   sorted(model_dir.glob("*.c")), [model_dir])
        x = np.random.default_rng(3).standard_normal(n_in).astype(np.float32) * 20
        y = np.zeros(n_out, np.float32)
        assert lib.kws_invoke_float(ffi.from_buffer("float[]", x), ffi.from_buffer("float[]", y)) == 0
        outs[flag] = y
    np.testing.assert_array_equal(outs[True], outs[False])
    assert np.any(outs[True] != 0)


def test_cli_flag_builds_and_verifies(models_dir, tmp_path):
    out = tmp_path / "hw"
    cmd = [sys.executable, "-m", "tinygen.cli", "build", str(models_dir / INT8_MODELS["hello_world"]), "-o", str(out),
           "--name", "hw", "--io-in-arena"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "int hw_run(void);" in (out / "model" / "hw.h").read_text()
    proc = subprocess.run([sys.executable, "-m", "tinygen.cli", "verify", str(out)], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.qemu
@pytest.mark.parametrize("key", ["vww", "person_detect"])
def test_qemu_equals_host_and_tflm(key, models_dir, tmp_path):
    missing = [t for t in ("arm-none-eabi-gcc", "qemu-system-arm", "make") if shutil.which(t) is None]
    if missing:
        pytest.fail(f"missing tools {missing}: run `make sysdeps`")
    path = models_dir / INT8_MODELS[key]
    out = tmp_path / key
    result = _compile(path, out, key, board="cortex-m4")
    assert "-Werror" in (out / "Makefile").read_text()
    xs, batch = _batch(tuple(result.report["inputs"][0]["shape"]), n=2)
    on_target = tinygen.run(out, [batch], target="qemu")[0]
    host = tinygen.run(out, [batch])[0]
    np.testing.assert_array_equal(on_target, host)
    _assert_equals_tflm(path, xs, on_target)
