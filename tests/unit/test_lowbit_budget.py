"""Under --budget-ram the low-bit layers give up their decoded filters (memory/stage.py): the decode-once
kernels are int8-fast but hold a layer's decoded filter in the arena; the packed kernels need a small scratch."""
from pathlib import Path

import numpy as np
import pytest

import tinygen
from tinygen.errors import TinygenError

ROOT = Path(__file__).resolve().parents[2]
DIGITS = ROOT / "examples" / "digits_cnn.keras"
CALIB = ROOT / "examples" / "digits_calib.npy"


def _build(tmp_path, name, **kw):
    return tinygen.compile(str(DIGITS), tmp_path / name, board="cortex-m4", weights="int4", calibration=str(CALIB),
                           name="digits", **kw)


def test_budget_ram_takes_the_packed_low_bit_kernels(tmp_path):
    fast = _build(tmp_path, "fast")
    kernels = [lay["kernel"] for lay in fast.report["layers"]]
    assert any(k.endswith("_lbx") for k in kernels)  # decode once: the default
    budget = fast.report["arena_bytes"] - 1
    small = _build(tmp_path, "small", budget_ram=budget)
    assert small.report["arena_bytes"] <= budget
    assert not any(lay["kernel"].endswith("_lbx") for lay in small.report["layers"])
    q = fast.graph.tensors[fast.graph.inputs[0]].quant
    x = np.clip(np.round(np.load(CALIB)[:3] / q.scale[0]) + q.zero_point[0], -128, 127).astype(np.int8)
    a, b = tinygen.run(tmp_path / "fast", x), tinygen.run(tmp_path / "small", x)
    assert np.array_equal(np.asarray(a), np.asarray(b))  # two kernel families, the same outputs
    assert small.report["weights_bytes"] == fast.report["weights_bytes"]


def test_a_budget_below_the_packed_arena_still_fails_with_the_figure(tmp_path):
    with pytest.raises(TinygenError, match="arena needs"):
        _build(tmp_path, "tiny", budget_ram=64)
