"""Float arithmetic of the float reference and the compile-time folds that numpy would warn about needlessly.

OpenBLAS, which numpy calls for float `@`, can set the FPU's invalid-operation flag from lanes it computes
and throws away (padding of a partial block holding whatever memory was there). numpy reads the flag after
the call and warns "invalid value encountered in matmul" although every input and every output is finite;
whether it happens depends on the memory the kernel touched, so it comes and goes from run to run.
`matmul` ignores that flag and nothing else: a NaN or inf in an input still reaches the result, where the
callers' checks (and the tests) see it.

`sigmoid` lets e^-x overflow to inf for x below about -88 (float32), where 1 / (1 + inf) is the exact
limit 0, without numpy's overflow warning.
"""
from __future__ import annotations

import numpy as np


def matmul(a, b) -> np.ndarray:
    """a @ b, without numpy's warning for the invalid flag that BLAS may raise spuriously."""
    with np.errstate(invalid="ignore"):
        return np.matmul(a, b)


def sigmoid(x) -> np.ndarray:
    """1 / (1 + e^-x) in x's float type; 0 where e^-x overflows (the exact limit), without a warning."""
    x = np.asarray(x)
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))
