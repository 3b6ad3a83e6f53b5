"""16x8 RELU and RELU6 (int16 in and out, zero points 0), as TFLM computes them.

RELU requantizes to the output's scale (TFLM ReluQuantized: the same 32-bit multiply as int8) and clamps
at 0; RELU6 only clamps, in the input's quantization, to [zero point, quantized 6.0]. TF's converter
leaves such a standalone RELU after a dilated conv's BATCH_TO_SPACE_ND, or wherever it cannot fuse it.
"""
from __future__ import annotations

import numpy as np

from tinygen.ir import Graph, Op, OpKind
from tinygen.lower.activation import _check, _elementwise, _fail, _round_f32_div
from tinygen.lower.base import Kernel, register
from tinygen.quant import qmath

INT16_MIN, INT16_MAX = -(1 << 15), (1 << 15) - 1


class ReluS16(Kernel):
    """RELU / RELU6 int16 -> int16 with per-tensor quantization and zero points 0 (TFLM requires them)."""

    kinds = (OpKind.RELU, OpKind.RELU6)

    def supports(self, op: Op, graph: Graph) -> bool:
        x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
        return x.dtype == "int16" and y.dtype == "int16"

    def lower(self, op: Op, graph: Graph):
        x, y = _check(op, graph, "int16", "int16")
        for t in (x, y):
            if t.quant is None or t.quant.per_axis or t.zero_point != 0:
                raise _fail(op, f"tensor '{t.name}' needs per-tensor quantization with zero point 0 (16x8)")
        if op.kind == OpKind.RELU6:
            upper = int(np.clip(_round_f32_div(6.0, x.scale), INT16_MIN, INT16_MAX))
            return _elementwise(op, graph, "tg_relu6_s16", "tg_relu6_s16.c", [0, upper],
                                lambda q: np.clip(q.astype(np.int64), 0, upper), out_dtype=np.int16)
        mult, shift = qmath.quantize_multiplier(float(x.scale) / float(y.scale))

        def func(q):
            return qmath.requantize(np.asarray(q, dtype=np.int64), mult, shift, 0, 0, INT16_MAX)

        return _elementwise(op, graph, "tg_relu_s16", "tg_relu_s16.c", [mult, shift, 0, INT16_MAX], func,
                            out_dtype=np.int16)


register(ReluS16())
