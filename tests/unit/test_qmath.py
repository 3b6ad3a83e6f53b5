"""Requantization math: TFLM's QuantizeMultiplier edge cases, and the C header equal to the NumPy one."""
from __future__ import annotations

import math

import numpy as np
import pytest

from tinygen.verify.hostbuild import build_extension
from tinygen.paths import runtime_file
from tinygen.quant import qmath


def test_round_away_ties():
    assert qmath.round_away(0.5) == 1
    assert qmath.round_away(-0.5) == -1
    assert qmath.round_away(2.5) == 3
    assert qmath.round_away(-2.5) == -3
    assert qmath.round_away(2.4999) == 2


@pytest.mark.parametrize("real", [0.5, 0.75, 0.1, 1e-3, 0.999999, 1.0, 1.5, 3.0, 1234.5])
def test_quantize_multiplier_reconstructs(real):
    m, s = qmath.quantize_multiplier(real)
    assert (1 << 30) <= m < (1 << 31)
    assert math.isclose(m * 2.0 ** (s - 31), real, rel_tol=2 ** -30)


def test_quantize_multiplier_zero_and_round_up():
    assert qmath.quantize_multiplier(0.0) == (0, 0)
    # a mantissa that rounds to 2^31 is halved with the shift bumped: 1 - 2^-33 rounds up to 1.0
    m, s = qmath.quantize_multiplier(1.0 - 2.0 ** -33)
    assert (m, s) == (1 << 30, 1)
    # multipliers >= 1 give positive shifts
    assert qmath.quantize_multiplier(2.0) == (1 << 30, 2)


def test_quantize_multiplier_tiny_flushes_to_zero():
    assert qmath.quantize_multiplier(2.0 ** -40) == (0, 0)
    m, s = qmath.quantize_multiplier(2.0 ** -31)  # frexp gives shift -30: kept
    assert m == 1 << 30 and s == -30


def test_srdhm_saturates_and_rounds():
    assert int(qmath.srdhm(qmath.INT32_MIN, qmath.INT32_MIN)) == qmath.INT32_MAX
    # (2^30 * 2^30 * 2) >> 32 == 2^29
    assert int(qmath.srdhm(1 << 30, 1 << 30)) == 1 << 29
    # negative products round half away from zero (nudge 1 - 2^30, division truncating)
    assert int(qmath.srdhm(-1, 1 << 30)) == 0
    assert int(qmath.srdhm(-3, 1 << 30)) == -1


def test_rounding_divide_by_pot_ties_away():
    x = np.array([5, -5, 6, -6, 7, -7, 4, -4])
    assert qmath.rounding_divide_by_pot(x, 1).tolist() == [3, -3, 3, -3, 4, -4, 2, -2]


@pytest.fixture(scope="module")
def clib():
    cdef = """
    int32_t w_srdhm(int32_t a, int32_t b);
    int32_t w_rdbpot(int32_t x, int32_t e);
    int32_t w_requantize(int32_t x, int32_t m, int32_t s);
    """
    src = runtime_file("tg_common.h")
    code = ('#include "tg_common.h"\n'
            "int32_t w_srdhm(int32_t a, int32_t b) { return tg_srdhm(a, b); }\n"
            "int32_t w_rdbpot(int32_t x, int32_t e) { return tg_rdbpot(x, e); }\n"
            "int32_t w_requantize(int32_t x, int32_t m, int32_t s) { return tg_requantize(x, m, s); }\n")
    _, lib = build_extension(cdef, code, [], [src.parent])
    return lib


def test_c_matches_numpy(clib):
    rng = np.random.default_rng(1)
    xs = np.concatenate([rng.integers(-(1 << 31), (1 << 31) - 1, 3000),
                         rng.integers(-70000, 70000, 3000),
                         [qmath.INT32_MIN, qmath.INT32_MAX, 0, 1, -1]])
    reals = np.concatenate([rng.uniform(1e-6, 0.99, 40), rng.uniform(1.0, 20.0, 10), [2.0 ** -31, 0.5]])
    for real in reals:
        m, s = qmath.quantize_multiplier(float(real))
        expect = qmath.multiply_by_quantized_multiplier(xs, m, s)
        got = np.array([clib.w_requantize(int(x), m, s) for x in xs[::7]])
        assert np.array_equal(got, expect[::7]), real
    for e in range(0, 31):
        got = np.array([clib.w_rdbpot(int(x), e) for x in xs[::50]])
        assert np.array_equal(got, qmath.rounding_divide_by_pot(xs[::50], e))
    bs = rng.integers(-(1 << 31), (1 << 31) - 1, xs[::50].size)
    got = np.array([clib.w_srdhm(int(a), int(b)) for a, b in zip(xs[::50], bs)])
    assert np.array_equal(got, qmath.srdhm(xs[::50], bs))


def test_requantization_scale_of_2_31_or_more_is_refused():
    """A left shift past 31 is undefined in C: such a scale (only a corrupt model has one) is an error."""
    import pytest

    from tinygen.errors import UnsupportedError

    assert qmath.quantize_multiplier(2.0 ** 31 * 0.99)[1] == 31
    for bad in (2.0 ** 31, 2.66562e37, float("inf"), float("nan")):
        with pytest.raises(UnsupportedError, match="requantization scale"):
            qmath.quantize_multiplier(bad)
