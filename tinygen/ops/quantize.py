"""Type conversions at the model's edges and between int8 / int16 regions: QUANTIZE, DEQUANTIZE."""
from __future__ import annotations

import numpy as np

from tinygen.ir import OpKind
from tinygen.ops.checks import check_same_shape
from tinygen.ops.common import export_no_options
from tinygen.ops.spec import Lowering, NotApplicable, OpSpec, TfliteOp, register
from tinygen.ops.tflite_context import tflite_unary


def float_quantize(op, ins, out_shape, graph):
    t = graph.tensors[op.outputs[0]]
    info = np.iinfo(t.dtype)
    return np.clip(np.round(ins[0] / t.scale) + t.zero_point, info.min, info.max)


def float_dequantize(op, ins, out_shape, graph):
    t = graph.tensors[op.inputs[0]]
    return (ins[0].astype(np.float32) - t.zero_point) * t.scale


_NO_LAYER = NotApplicable("not a Keras layer: the quantizer adds it where float meets integer tensors")
_NO_BOUNDS = NotApplicable("no accumulator: one multiply and round per element")

register(
    OpSpec(OpKind.QUANTIZE, "float -> integer, or integer requantization to new scale / zero point / type",
           tflite=(TfliteOp("QUANTIZE", tflite_unary(OpKind.QUANTIZE)),), keras=_NO_LAYER, checks=(check_same_shape,), float_ref=float_quantize,
           bounds=_NO_BOUNDS, export=export_no_options,
           kernels=Lowering(("float32 -> int8", "int8 -> int8", "float32 -> int16", "int8/int16/int32 -> int16",
                             "int16 -> int8", "int8 -> uint8", "uint8 -> int8", "int8/int16 -> int32",
                             "int32 -> int8"))),
    OpSpec(OpKind.DEQUANTIZE, "integer -> float32", tflite=(TfliteOp("DEQUANTIZE", tflite_unary(OpKind.DEQUANTIZE)),), keras=_NO_LAYER,
           checks=(check_same_shape,), float_ref=float_dequantize, bounds=_NO_BOUNDS, export=export_no_options,
           kernels=Lowering(("int8 -> float32", "int16 -> float32"))),
)
