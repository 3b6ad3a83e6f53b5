"""tinygen's LUT op (an element-wise function tabulated at build time): the C equals the NumPy reference on
every int8 input and on every int16 input, the tables are the quantized float function (int8 exactly,
int16 within the interpolation error), and tables whose neighbouring entries differ by more than int16
holds do not wrap."""
from __future__ import annotations

import numpy as np
import pytest

from tinygen.ir import Graph, Op, OpKind, QuantParams, Tensor
from tinygen.lower.lut import lookup_s16, table_s8, table_s16
from tinygen.ops.lut import FUNCTIONS, LutAttrs, evaluate
from tinygen.verify.testing import run_c, run_reference

# (attrs, input scale, input zero point, output scale, output zero point) per dtype
CASES8 = [
    (LutAttrs("gelu"), 0.05, 3, 0.03, -100),
    (LutAttrs("gelu_tanh"), 0.05, 3, 0.03, -100),
    (LutAttrs("selu"), 0.04, -10, 0.05, 20),
    (LutAttrs("softplus"), 0.1, 0, 0.04, -128),
    (LutAttrs("mish"), 0.06, 5, 0.04, -90),
    (LutAttrs("exponential"), 0.1, 0, 0.05, -128),  # overflows the output range: clamps at 127
    (LutAttrs("relu", (0.1, 2.0, 0.5)), 0.02, 0, 0.01, -60),
    (LutAttrs("threshold", (0.3, -1.0)), 0.02, 0, 0.01, 0),
    (LutAttrs("log_sigmoid"), 0.1, 0, 0.05, 127),  # all outputs <= 0
    (LutAttrs("hard_tanh"), 1e-3, 0, 1e-3, 0),
]
CASES16 = [
    (LutAttrs("gelu"), 6 / 32768, 0, 6 / 32768, 0),
    (LutAttrs("selu"), 4 / 32768, 0, 5 / 32768, 0),
    (LutAttrs("softplus"), 8 / 32768, 0, 8 / 32768, 0),
    (LutAttrs("mish"), 5 / 32768, 0, 5 / 32768, 0),
    (LutAttrs("exponential"), 3 / 32768, 0, 20 / 32768, 0),
    (LutAttrs("sparse_plus"), 2 / 32768, 0, 2 / 32768, 0),
    (LutAttrs("threshold", (0.0, 0.0)), 1 / 32768, 0, 1 / 32768, 0),  # a 65535-code jump inside a step
    (LutAttrs("hard_shrink", (0.5,)), 1 / 32768, 0, 1 / 65536, 0),  # jumps of 32767 codes: no wrap
]


def _graph(cases, dtype: str, shape) -> Graph:
    tensors, ops, ins, outs = {}, [], [], []
    for k, (attrs, si, zi, so, zo) in enumerate(cases):
        x, y = f"x{k}", f"y{k}"
        tensors[x] = Tensor(x, shape, dtype, QuantParams.make(si, zi))
        tensors[y] = Tensor(y, shape, dtype, QuantParams.make(so, zo))
        ops.append(Op(OpKind.LUT, f"lut{k}", [x], [y], attrs))
        ins.append(x)
        outs.append(y)
    return Graph(tensors, ops, ins, outs, name="luts")


def _c_equals_reference(graph: Graph, xs: list) -> list:
    ref, got = run_reference(graph, xs), run_c(graph, xs)
    for name, r, c in zip(graph.outputs, ref, got):
        assert r.dtype == c.dtype and np.array_equal(r, c), name
    return ref


def test_int8_every_input_c_equals_reference_equals_float_table():
    xs = [np.arange(-128, 128, dtype=np.int8) for _ in CASES8]
    ref = _c_equals_reference(_graph(CASES8, "int8", (256,)), xs)
    for (attrs, si, zi, so, zo), r in zip(CASES8, ref):
        want = evaluate(attrs, si * (np.arange(-128, 128) - zi)) / so + zo
        want = np.clip(np.sign(want) * np.floor(np.abs(want) + 0.5), -128, 127)
        np.testing.assert_array_equal(r.astype(np.int64), want.astype(np.int64), err_msg=attrs.function)
    assert ref[5][-1] == 127 and ref[8].max() <= 127 and ref[8][0] < 0


def test_int16_every_input_c_equals_reference():
    xs = [np.arange(-32768, 32768, dtype=np.int16) for _ in CASES16]
    ref = _c_equals_reference(_graph(CASES16, "int16", (65536,)), xs)
    for (attrs, si, zi, so, zo), r in zip(CASES16, ref):
        table = table_s16(attrs, si, zi, so, zo)
        np.testing.assert_array_equal(r, lookup_s16(table, xs[0]))
        assert r[0] == table[0]  # the lowest code is the first sample


@pytest.mark.parametrize("case", CASES16[:6], ids=lambda c: c[0].function)
def test_int16_smooth_functions_within_two_codes(case):
    """Between samples the interpolation of a smooth function stays within 2 output codes of the float,
    except next to the intervals where the float function leaves the int16 range (a kink: 0.2% of the
    range)."""
    attrs, si, zi, so, zo = case
    v = np.arange(-32768, 32768)
    got = lookup_s16(table_s16(attrs, si, zi, so, zo), v).astype(np.float64)
    real = evaluate(attrs, si * (v - zi)) / so + zo
    want = np.clip(real, -32768, 32767)
    err = np.abs(got - want).reshape(512, 128)
    kink = (real.reshape(512, 128) != want.reshape(512, 128)).any(axis=1)
    kink = kink | np.roll(kink, 1) | np.roll(kink, -1)  # the kink's nudge reaches its neighbours
    assert err[~kink].max() <= 2.0, attrs.function
    assert err.max() <= 0.002 * 65536, attrs.function


def test_int16_steps_do_not_wrap():
    """A table whose neighbours differ by more than 32767 codes interpolates in int32: outputs stay
    between the two samples (an int16 difference would wrap and flip the sign)."""
    table = table_s16(LutAttrs("threshold", (0.5, -1.0)), 1 / 32768, 0, 1 / 32768, 0)
    i = int(np.argmax(np.diff(table.astype(np.int64))))
    assert int(table[i + 1]) - int(table[i]) > 32767
    v = np.arange(-32768 + 128 * i, -32768 + 128 * (i + 1))
    out = lookup_s16(table, v)
    assert out.min() >= table[i] and out.max() <= table[i + 1] and np.all(np.diff(out.astype(int)) >= 0)
    xs = [np.arange(-32768, 32768, dtype=np.int16)]
    g = _graph([(LutAttrs("threshold", (0.5, -1.0)), 1 / 32768, 0, 1 / 32768, 0)], "int16", (65536,))
    _c_equals_reference(g, xs)


def test_int8_edge_scales_and_every_function():
    """Every tabulated function builds an int8 table at a tiny and a huge input scale (no NaN, clamped)."""
    for name in FUNCTIONS:
        params = {"relu": (0.0, None, 0.5), "threshold": (0.0, 0.0)}.get(name, ())
        for si in (1e-6, 10.0):
            t = table_s8(LutAttrs(name, params), si, 0, 0.05, 0)
            assert t.dtype == np.int8 and t.shape == (256,), name
