"""16x8 RELU and RELU6 (int16, zero points 0) as single-op .tflite models against TFLM's interpreter.

Plan: output scale equal to, above and below the input's (RELU requantizes), a scale that puts 6.0 beyond
int16 (RELU6 then clamps at 32767 only); shapes of rank 1..4 and an odd element count; random inputs over
the full range, all-min, all-max; the C kernel and the NumPy reference. Also: a RELU over int16 with a
non-zero zero point is refused with one line naming the layer.
"""
from __future__ import annotations

import numpy as np
import pytest

from tinygen import ir
from tinygen.compiler import lower
from tinygen.errors import TinygenError
from tinygen.verify.export_tflite import to_bytes
from tinygen.verify.testing import host_model_for, run_reference

CASES = [  # kind, shape, input scale, output scale
    (ir.OpKind.RELU, (1, 5, 7, 3), 0.001, 0.001),
    (ir.OpKind.RELU, (2, 33), 0.0007, 0.0021),
    (ir.OpKind.RELU, (97,), 0.003, 0.0004),
    (ir.OpKind.RELU6, (1, 4, 6, 8), 0.0005, 0.0005),
    (ir.OpKind.RELU6, (3, 11, 5), 0.0002, 0.0003),  # 6.0 is 30000 on the input scale
    (ir.OpKind.RELU6, (1, 64), 0.00001, 0.00001),  # 6.0 beyond int16: no upper clamp but 32767
]


def _graph(kind, shape, s_in, s_out, zp=0) -> ir.Graph:
    t = {"x": ir.Tensor("x", shape, "int16", ir.QuantParams.make(s_in, zp)),
         "y": ir.Tensor("y", shape, "int16", ir.QuantParams.make(s_out, 0))}
    return ir.Graph(t, [ir.Op(kind, "act", ["x"], ["y"], ir.NoAttrs())], ["x"], ["y"], name="relu16")


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0].value}-{i}" for i, c in enumerate(CASES)])
def test_equals_tflm(case):
    from oracle import tflm_run

    graph = _graph(*case)
    data = to_bytes(graph)
    lowered = lower(graph)
    assert lowered[0].c_function.endswith("_s16")
    model = host_model_for(graph)
    rng = np.random.default_rng(4)
    shape = case[1]
    samples = [rng.integers(-32768, 32767, size=shape, endpoint=True).astype(np.int16) for _ in range(3)]
    samples += [np.full(shape, -32768, np.int16), np.full(shape, 32767, np.int16)]
    for k, x in enumerate(samples):
        (want,) = tflm_run(data, [x])
        got = np.asarray(model([x])[0]).reshape(want.shape)
        ref = np.asarray(run_reference(graph, [x], lowered)[0]).reshape(want.shape)
        assert got.dtype == want.dtype and got.tobytes() == want.tobytes(), f"sample {k}: C"
        assert ref.tobytes() == want.tobytes(), f"sample {k}: NumPy reference"


def test_nonzero_zero_point_is_refused():
    with pytest.raises(TinygenError, match=r"layer 'act' \(RELU\): tensor 'x' needs .*zero point 0"):
        lower(_graph(ir.OpKind.RELU, (4,), 0.001, 0.001, zp=3))
