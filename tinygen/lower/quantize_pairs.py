"""QUANTIZE between integer types that the other lowerings do not cover: uint8 <-> int8 (uint8 model inputs,
such as camera images, entering an int8 graph, and int8 results leaving as uint8), int8 -> int32,
int16 -> int32 and int32 -> int8. TFLM Requantize: MBQM(x - zp_in) with the multiplier s_in / s_out formed in
double, plus zp_out, clamped to the output type; an int32 output wraps like TFLM's int32 addition."""
from __future__ import annotations

import numpy as np

from tinygen.errors import UnsupportedError
from tinygen.ir import Graph, Op, OpKind
from tinygen.lower.base import Kernel, Literal, LoweredOp, TensorArg, register
from tinygen.lower.int16_unary import requantize_reference
from tinygen.quant import qmath

# (input dtype, output dtype) -> (C entry point, whether the int32 addition of zp_out wraps)
_PAIRS = {("uint8", "int8"): ("tg_requantize_u8_s8", False), ("int8", "uint8"): ("tg_requantize_s8_u8", False),
          ("int8", "int32"): ("tg_requantize_s8_s32", True), ("int16", "int32"): ("tg_requantize_s16_s32", True),
          ("int32", "int8"): ("tg_requantize_s32_s8", True)}


def requantize_wide_reference(q, in_zp: int, mult: int, shift: int, out_zp: int, out_dtype: str):
    x = qmath.wrap_int32(np.asarray(q, dtype=np.int64) - in_zp)
    y = qmath.wrap_int32(qmath.multiply_by_quantized_multiplier(x, mult, shift) + out_zp)
    info = np.iinfo(out_dtype)
    return np.clip(y, info.min, info.max)


class QuantizePair(Kernel):
    """QUANTIZE uint8 -> int8, int8 -> uint8, int8 -> int32, int16 -> int32, int32 -> int8."""

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
        fn, wraps = _PAIRS[(x.dtype, y.dtype)]
        mult, shift = qmath.quantize_multiplier(float(np.float32(x.scale)) / float(np.float32(y.scale)))
        in_zp, out_zp = x.zero_point, y.zero_point
        args = [Literal(v) for v in (in_zp, mult, shift, out_zp, x.size)]
        args += [TensorArg(x.name), TensorArg(y.name, const=False)]

        info = np.iinfo(y.dtype)

        def reference(inputs: list) -> list:
            if wraps:
                q = requantize_wide_reference(inputs[0], in_zp, mult, shift, out_zp, y.dtype)
            else:
                q = requantize_reference(np.asarray(inputs[0]), in_zp, mult, shift, out_zp, info.min, info.max)
            return [q.astype(y.dtype).reshape(y.shape)]

        return LoweredOp(op, fn, (fn + ".c",), args, [], reference, notes=dict(mult=mult, shift=shift))


register(QuantizePair())
