"""Convert one parsed TFLite operator with the converter its op spec declares (`TfliteOp`)."""
from __future__ import annotations

from tinygen.frontend.tflite_parse import RawOp
from tinygen.ops.spec import tflite_converters
from tinygen.ops.tflite_context import OpContext


def convert_op(op: RawOp, tensors: list, source: str, layer: str) -> list:
    """[(OpKind, attrs, input tensor indices with None for absent, output tensor indices)] for one
    operator: one entry, or several when the builtin expands to several IR ops."""
    c = OpContext(op, tensors, source, layer)
    converters = tflite_converters()
    if op.opname not in converters:
        raise c.unsupported(f"operator {op.opname} is not supported by tinygen")
    result = converters[op.opname](c)
    if isinstance(result, tuple):
        if len(op.outputs) != 1:
            raise c.bad(f"expected 1 output, found {len(op.outputs)}")
        result = [result + (list(op.outputs),)]
    return [(kind, attrs, [None if i is None or i < 0 else i for i in inputs], list(outs))
            for kind, attrs, inputs, outs in result]
