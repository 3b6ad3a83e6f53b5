"""QUANTIZE between uint8 and int8 (TFLM Requantize with the multiplier s_in / s_out formed in double):
uint8 model inputs (camera images) entering an int8 graph, and int8 results leaving as uint8."""
from __future__ import annotations

import numpy as np

from tinygen.errors import UnsupportedError
from tinygen.ir import Graph, Op, OpKind
from tinygen.quant import qmath
from tinygen.lower.base import Kernel, Literal, LoweredOp, TensorArg, register
from tinygen.lower.int16_unary import requantize_reference

_PAIRS = {("uint8", "int8"): ("tg_requantize_u8_s8", -128, 127),
          ("int8", "uint8"): ("tg_requantize_s8_u8", 0, 255)}


class QuantizeU8(Kernel):
    """QUANTIZE uint8 -> int8 and int8 -> uint8."""

    kinds = (OpKind.QUANTIZE,)

    def supports(self, op: Op, graph: Graph) -> bool:
        x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
        return (x.dtype, y.dtype) in _PAIRS

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
        for t in (x, y):
            if t.quant is None or t.quant.per_axis:
                raise UnsupportedError(f"layer '{op.name}' (QUANTIZE): tensor '{t.name}' needs per-tensor "
                                       f"quantization")
        if x.size != y.size:
            raise UnsupportedError(f"layer '{op.name}' (QUANTIZE): input {x.shape} and output {y.shape} differ in size")
        fn, qmin, qmax = _PAIRS[(x.dtype, y.dtype)]
        mult, shift = qmath.quantize_multiplier(float(x.scale) / float(y.scale))
        in_zp, out_zp = x.zero_point, y.zero_point
        args = [Literal(v) for v in (in_zp, mult, shift, out_zp, x.size)]
        args += [TensorArg(x.name), TensorArg(y.name, const=False)]

        def reference(inputs: list) -> list:
            q = requantize_reference(np.asarray(inputs[0]), in_zp, mult, shift, out_zp, qmin, qmax)
            return [q.astype(y.dtype).reshape(y.shape)]

        return LoweredOp(op, fn, (fn + ".c",), args, [], reference, notes=dict(mult=mult, shift=shift))


register(QuantizeU8())
