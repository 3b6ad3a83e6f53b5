"""Patch-based execution chosen under --budget-ram: the banded C equals TFLM byte for byte.

VWW and person_detect (the two models whose first layers are high-resolution) are built with RAM
budgets that layer-by-layer execution does not meet, with the I/O in the caller's buffers and in the
arena, and with the chain's output written over the input (overlay); each build runs on the host
and, for the tightest, under QEMU on Cortex-M4 (the DSP kernels), against TFLM.
"""
from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest

import tinygen
from oracle import INT8_MODELS, num_outputs, tflm_interpreter, tflm_run_with
from tinygen.codegen import model as codegen
from tinygen.compiler import load_model, lower
from tinygen.memory import patch
from tinygen.memory import plan as planner
from tinygen.memory import schedule
from tinygen.verify.host import HostModel


def _samples(shape, n=2, seed=7):
    rng = np.random.default_rng(seed)
    xs = [rng.integers(-128, 128, size=shape, dtype=np.int64).astype(np.int8) for _ in range(n)]
    xs += [np.full(shape, -128, np.int8), np.full(shape, 127, np.int8)]
    return xs, np.stack(xs).reshape((len(xs),) + tuple(shape[1:]))


def _equal_tflm(path, xs, outs):
    interp = tflm_interpreter(path)
    for i, x in enumerate(xs):
        ref = tflm_run_with(interp, [x], num_outputs(path))[0]
        np.testing.assert_array_equal(np.asarray(outs[i]).reshape(ref.shape), ref)


def _build(key, models_dir, out, budget, io, **kw):
    path = models_dir / INT8_MODELS[key]
    r = tinygen.compile(str(path), out, name=key, budget_ram=budget, io_in_arena=io, measure_stack=False,
                        compare_tflm_arena=False, **kw)
    return path, r


@pytest.mark.parametrize("key,budget,io", [("vww", 36864, False), ("vww", 27264, False), ("vww", 33792, True),
                                           ("person_detect", 27648, False), ("person_detect", 23040, True)])
def test_banded_build_on_host_equals_tflm(key, budget, io, models_dir, tmp_path):
    path, r = _build(key, models_dir, tmp_path / key, budget, io, firmware=False)
    pt = r.report["patch"]
    assert pt is not None and r.report["arena_bytes"] <= budget < pt["layer_by_layer_arena_bytes"]
    assert 0 < pt["extra"] <= 0.10 and r.report["macs"] == pt["macs"] > pt["base_macs"]
    xs, batch = _samples(tuple(r.report["inputs"][0]["shape"]))
    _equal_tflm(path, xs, tinygen.run(tmp_path / key, [batch])[0])


@pytest.mark.parametrize("last,bands", [(7, 4), (3, 6)])
def test_chain_output_over_the_input_equals_tflm(last, bands, models_dir, tmp_path):
    path = models_dir / INT8_MODELS["vww"]
    graph = load_model(path)
    graph, lowered = schedule.optimize(graph, lower(graph), True)
    ops = list(range(last + 1))
    assert patch.overlay_fits(graph, lowered, ops, bands)
    g2, l2 = patch.expand(graph, lowered, ops, bands, overlay=True)
    plan = planner.plan(g2, l2, io_in_arena=True)
    x_name, y_name = graph.inputs[0], patch._io(lowered[last])[1]
    assert plan.storage[y_name] == plan.storage[x_name]  # the chain's output starts at the input's bytes
    codegen.write(codegen.render(g2, l2, plan, name="v", stem="v"), tmp_path)
    t_in, t_out = graph.tensors[x_name], graph.tensors[graph.outputs[0]]
    host = HostModel(tmp_path, "v", [(t_in.shape, t_in.dtype)], [(t_out.shape, t_out.dtype)])
    xs, _ = _samples(t_in.shape)
    _equal_tflm(path, xs, [host([x])[0] for x in xs])


def test_cli_reports_the_bands_and_refuses_a_budget_out_of_reach(models_dir, tmp_path):
    model = str(models_dir / INT8_MODELS["person_detect"])
    cmd = [sys.executable, "-m", "tinygen.cli", "build", model, "--no-fit-check", "--name", "pd"]
    ok = subprocess.run(cmd + ["-o", str(tmp_path / "a"), "--budget-ram", "27648"], capture_output=True, text=True,
                        timeout=600)
    assert ok.returncode == 0, ok.stderr
    assert "run in 3 bands of rows to fit --budget-ram" in ok.stdout + ok.stderr
    bad = subprocess.run(cmd + ["-o", str(tmp_path / "b"), "--budget-ram", "8K", "--patch-limit", "0.02"],
                         capture_output=True, text=True, timeout=600)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert "--budget-ram 8,192 B: the arena needs" in bad.stderr
    assert not (tmp_path / "b").exists()


@pytest.mark.qemu
@pytest.mark.parametrize("key,budget,io", [("vww", 27264, False), ("person_detect", 23040, True),
                                           ("vww", 33792, True)])
def test_banded_firmware_on_cortex_m4_equals_host_and_tflm(key, budget, io, models_dir, tmp_path):
    missing = [t for t in ("arm-none-eabi-gcc", "qemu-system-arm", "make") if shutil.which(t) is None]
    if missing:
        pytest.fail(f"missing tools {missing}: run `make sysdeps`")
    path, r = _build(key, models_dir, tmp_path / key, budget, io, board="cortex-m4")
    # VWW with its input in the arena writes the chain output over the input's consumed rows (person_detect's
    # 1-channel rows are too narrow for it: its band rows would reach rows the next band reads)
    assert r.report["patch"] is not None and r.report["patch"]["overlay"] == (io and key == "vww")
    xs, batch = _samples(tuple(r.report["inputs"][0]["shape"]))
    on_target = tinygen.run(tmp_path / key, [batch], target="qemu")[0]
    np.testing.assert_array_equal(on_target, tinygen.run(tmp_path / key, [batch])[0])
    _equal_tflm(path, xs, on_target)
