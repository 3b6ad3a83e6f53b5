"""Activation range estimators (min/max, percentile, MSE-optimal) and the TFLite int8 parameter rule.

`estimate` with "auto" keeps min/max unless another estimator measures a lower quantization error on
calibration samples it was not fitted on (two-fold split by sample).
"""
from __future__ import annotations

import numpy as np

from tinygen.errors import TinygenError
from tinygen.quant.qmath import round_away

QMIN, QMAX = -128, 127
ESTIMATORS = ("minmax", "percentile", "mse", "auto")
_AUTO_MARGIN = 0.99  # an alternative must beat min/max by 1% on held-out data


def asymmetric_params(lo: float, hi: float) -> tuple:
    """int8 (scale, zero_point) for [lo, hi] the TFLite way: widen to include 0, nudge the zero point."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if hi == lo:
        return 1.0, 0
    scale = (hi - lo) / (QMAX - QMIN)
    zp_from_min = QMIN - lo / scale
    if zp_from_min <= QMIN:
        return scale, QMIN
    if zp_from_min >= QMAX:
        return scale, QMAX
    return scale, int(round_away(zp_from_min))


NEAR_ZERO = 1.0e-6  # a calibrated range narrower than this is widened (TF's converter does the same)


def widen_tiny(lo: float, hi: float, width: float = NEAR_ZERO) -> tuple:
    """[lo, hi] when it is wider than `width`, else widened to include [-width / 2, width / 2]: TF's converter
    expands a range of at most 1e-6 this way, so a constant or nearly constant tensor gets a finite scale."""
    if hi - lo > width:
        return lo, hi
    return min(lo, -width / 2), max(hi, width / 2)


def fake_quant(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    scale, zp = asymmetric_params(lo, hi)
    q = np.clip(np.round(x / scale) + zp, QMIN, QMAX)
    return (q - zp) * scale


def quant_error(x: np.ndarray, lo: float, hi: float) -> float:
    """Mean squared error of int8 fake quantization of x with range [lo, hi]."""
    x = np.asarray(x, dtype=np.float64)
    return float(np.mean((fake_quant(x, lo, hi) - x) ** 2)) if x.size else 0.0


def minmax(x: np.ndarray) -> tuple:
    return float(np.min(x)), float(np.max(x))


def percentile(x: np.ndarray, p: float = 99.99) -> tuple:
    """Clip the (100 - p)% tails on each side."""
    lo, hi = np.percentile(x, [100.0 - p, p])
    return float(lo), float(hi)


def mse(x: np.ndarray, steps: int = 40) -> tuple:
    """The range [a*min, a*max], a in (0.2, 1], with the lowest fake-quantization error on x."""
    lo, hi = minmax(x)
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    best, best_err = (lo, hi), quant_error(x, lo, hi)
    for a in np.linspace(0.2, 1.0, steps, endpoint=False):
        err = quant_error(x, a * lo, a * hi)
        if err < best_err:
            best, best_err = (a * lo, a * hi), err
    return float(best[0]), float(best[1])


_FIT = {"minmax": minmax, "percentile": percentile, "mse": mse}


def estimate(halves: tuple, estimator: str = "auto", exact: tuple = None) -> tuple:
    """(lo, hi, estimator used) for values split into two sample halves (a, b).

    `exact` is the true (min, max) over all samples when the halves are subsampled.
    """
    if estimator not in ESTIMATORS:
        raise TinygenError(f"unknown range estimator '{estimator}'; use one of {', '.join(ESTIMATORS)}")
    a, b = (np.asarray(h, dtype=np.float64).ravel() for h in halves)
    both = np.concatenate([a, b])
    exact = exact if exact is not None else minmax(both)
    if estimator == "minmax":
        return exact[0], exact[1], "minmax"
    if estimator != "auto":
        return (*_FIT[estimator](both), estimator)
    if a.size == 0 or b.size == 0:
        return exact[0], exact[1], "minmax"

    def held_out(name: str) -> float:
        return sum(quant_error(test, *_FIT[name](fit)) for fit, test in ((a, b), (b, a)))

    base = held_out("minmax")
    name = min(("percentile", "mse"), key=held_out)
    if held_out(name) < _AUTO_MARGIN * base:
        return (*_FIT[name](both), name)
    return exact[0], exact[1], "minmax"
