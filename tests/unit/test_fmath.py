"""tinygen.fmath.matmul: the float products of the float reference and the compile-time folds.

It must equal numpy's product, keep a NaN or inf of its inputs in the result (only the FPU flag is
ignored), and the float reference's dense / conv / LSTM / GRU / fold paths must go through it, so that a
flag BLAS leaves behind cannot turn into a warning (an error under the tests' filter) at random."""
from __future__ import annotations

import pathlib
import re
import warnings

import numpy as np

from tinygen.fmath import matmul, sigmoid

ROOT = pathlib.Path(__file__).resolve().parents[2] / "tinygen"
FLOAT_MODULES = ["ops/dense.py", "ops/conv.py", "ops/matmul.py", "passes/fold_input.py", "quant/lstm.py",
                 "quant/gru.py"]


def test_equals_numpy_product():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(7, 33)).astype(np.float32), rng.normal(size=(33, 5)).astype(np.float32)
    np.testing.assert_array_equal(matmul(a, b), a @ b)


def test_nan_and_inf_inputs_reach_the_result():
    a = np.ones((2, 3), np.float32)
    a[0, 1] = np.nan
    b = np.ones((3, 2), np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = matmul(a, b)
    assert np.isnan(y[0]).all() and np.isfinite(y[1]).all()
    a[0, 1] = np.inf
    assert np.isinf(matmul(a, b)[0]).all()


def test_float_paths_use_it():
    bare = re.compile(r"[\w\]\)] @ [\w\(]|np\.matmul\(|np\.dot\(")
    for rel in FLOAT_MODULES:
        text = (ROOT / rel).read_text()
        assert "from tinygen.fmath import matmul" in text, rel
        assert not bare.search(text.replace("np.matmul(a, b)", "")), rel


def test_sigmoid_saturates_without_warning():
    x = np.array([-1000.0, -100.0, -88.0, 0.0, 3.0, 100.0], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = sigmoid(x)
    assert y.dtype == np.float32
    assert y[0] == 0.0 and y[1] == 0.0 and y[3] == 0.5 and y[5] == 1.0
    inside = x[2:]
    np.testing.assert_array_equal(y[2:], (1.0 / (1.0 + np.exp(-inside))).astype(np.float32))
