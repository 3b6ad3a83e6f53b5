"""Float matrix products for the float reference and the compile-time folds.

OpenBLAS, which numpy calls for float `@`, can set the FPU's invalid-operation flag from lanes it computes
and throws away (padding of a partial block holding whatever memory was there). numpy reads the flag after
the call and warns "invalid value encountered in matmul" although every input and every output is finite;
whether it happens depends on the memory the kernel touched, so it comes and goes from run to run.
`matmul` ignores that flag and nothing else: a NaN or inf in an input still reaches the result, where the
callers' checks (and the tests) see it.
"""
from __future__ import annotations

import numpy as np


def matmul(a, b) -> np.ndarray:
    """a @ b, without numpy's warning for the invalid flag that BLAS may raise spuriously."""
    with np.errstate(invalid="ignore"):
        return np.matmul(a, b)
