"""tinygen/quant/snap.py: filter scales whose TFLM multiplier the low-bit kernels' 19 bits hold exactly."""
from __future__ import annotations

import numpy as np

from tinygen.quant import qmath, snap


def _scales(seed: int, n: int = 200):
    rng = np.random.default_rng(seed)
    return (np.float32(10 ** rng.uniform(-3, -1)), (10 ** rng.uniform(-4, 0, size=n)).astype(np.float32),
            np.float32(10 ** rng.uniform(-2, 0)))


def test_tflm_multipliers_are_quantize_multiplier_of_tflms_products():
    for seed in range(5):
        x, w, y = _scales(seed, 50)
        got = snap.tflm_multipliers(x, w, y)
        want = [qmath.quantize_multiplier(float(x) * float(s) / float(y))[0] for s in w]  # double product
        assert got.tolist() == want
        got = snap.tflm_multipliers(x, w, y, float32_product=True)
        want = [qmath.quantize_multiplier(float(np.float32(x) * s) / float(y))[0] for s in w]  # float32 product
        assert got.tolist() == want
    assert snap.tflm_multipliers(1.0, [0.0, 2.0 ** -40], 1.0).tolist() == [0, 0]  # zero; shift below -31


def test_snapped_scales_make_every_multiplier_19_bit_exact_and_stay_close():
    rel = []
    for seed in range(4):
        x, w, y = _scales(seed)
        for f32 in (False, True):
            got = snap.snap(x, w, y, float32_product=f32)
            assert got.dtype == np.float32
            assert snap.exact(x, got, y, float32_product=f32)
            assert not snap.exact(x, w, y, float32_product=f32)  # the raw scales are not (1 in 4,096 would be)
            rel.append(np.abs(got.astype(np.float64) / w - 1))
    rel = np.concatenate(rel)
    assert np.median(rel) < 0.0005 and rel.max() < 0.03, (np.median(rel), rel.max())


def test_snapping_keeps_an_already_exact_scale():
    x, y = np.float32(0.5), np.float32(1.0)
    w = np.array([0.75, 0.625], np.float32)  # 0.375 and 0.3125: a few mantissa bits, multiples of 2^12
    assert snap.exact(x, w, y)
    assert snap.snap(x, w, y).tolist() == w.tolist()


def test_a_near_rational_scale_ratio_can_leave_a_channel_unsnapped():
    """s_in / s_out close to 2/7: the multipliers of neighbouring scales step through a lattice that misses the
    multiples of 2^12 within MAX_STEPS ulps; the scale is kept, and the .tflite export refuses that layer
    (tests/e2e/test_schemes.py checks the snapped case end to end)."""
    got = snap.snap(0.02, np.array([0.25], np.float32), 0.07)
    assert got.tolist() == [0.25] and not snap.exact(0.02, got, 0.07)
