"""Remove float islands that give back the integers they started from (exact rewrite, no arithmetic).

TF's converter sometimes writes an integer tensor out as DEQUANTIZE -> float moves (SPLIT, RESHAPE,
STRIDED_SLICE, ...) -> QUANTIZE, every QUANTIZE with the DEQUANTIZE's own scale, zero point and type.
TFLM computes (q - zero_point) * scale in float32, moves the floats, then rounds value / scale back:
for |q - zero_point| < 2^16 the two float32 roundings move the value by far less than 0.5, so every
QUANTIZE returns exactly the q it started from. The island is the same moves done on the integers, and
tinygen imports it that way: the float tensors take the integer type and quantization, the DEQUANTIZE
and QUANTIZE ops leave the model. Any other island (another scale, a float op that computes) is left
as it is, and the op converter refuses its float ops by name.
"""
from __future__ import annotations

from tinygen.frontend.tflite_fold_quant import INT_TYPES, MULTI_DATA_INPUT
from tinygen.frontend.tflite_parse import RawModel

# ops that only move or select values, with the input that carries the moved data
_MOVE_DATA_INPUT = {"RESHAPE": 0, "EXPAND_DIMS": 0, "SQUEEZE": 0, "STRIDED_SLICE": 0, "TRANSPOSE": 0,
                    "GATHER": 0, **MULTI_DATA_INPUT}


def remove_float_islands(model: RawModel) -> None:
    for op in list(model.ops):
        if op in model.ops and op.opname == "DEQUANTIZE":
            island = _island(model, op)
            if island is not None:
                _rewrite(model, op, *island)


def _valid(model: RawModel, k: int) -> bool:
    return 0 <= k < len(model.tensors)


def _island(model: RawModel, deq):
    """(float tensors, QUANTIZE ops) of the exact island starting at `deq`, or None."""
    if len(deq.inputs) != 1 or len(deq.outputs) != 1 or not all(_valid(model, k) for k in deq.inputs + deq.outputs):
        return None
    src = model.tensors[deq.inputs[0]]
    q = src.quant
    if src.data is not None or src.dtype not in INT_TYPES or q is None or len(q.scale) != 1:
        return None
    if not 1e-30 < q.scale[0] < 1e30:  # keeps the float32 products normal: the exactness argument holds
        return None
    consumers: dict = {}
    for op in model.ops:
        for i in op.inputs:
            consumers.setdefault(i, []).append(op)
    floats, quants, todo = [], [], [deq.outputs[0]]
    while todo:
        t = todo.pop()
        if t in floats:
            continue
        tensor = model.tensors[t]
        if tensor.dtype != "float32" or tensor.quant is not None or t in model.outputs or t in model.inputs:
            return None
        floats.append(t)
        for op in consumers.get(t, []):
            if op.opname == "QUANTIZE":
                out = model.tensors[op.outputs[0]] if len(op.outputs) == 1 and _valid(model, op.outputs[0]) else None
                if out is None or out.dtype != src.dtype or out.quant != q or len(op.inputs) != 1 \
                        or op.outputs[0] in model.outputs:  # a model output keeps its own tensor
                    return None
                quants.append(op)
                continue
            data_input = _MOVE_DATA_INPUT.get(op.opname)
            if data_input is None or op.options.get("FusedActivationFunction", 0) != 0:
                return None
            others = [i for n, i in enumerate(op.inputs) if n != data_input and i >= 0]
            if len(op.inputs) <= data_input or op.inputs[data_input] != t or t in others:
                return None
            if not all(_valid(model, i) and model.tensors[i].data is not None for i in others):
                return None
            if not all(_valid(model, k) for k in op.outputs):
                return None
            todo.extend(op.outputs)
    return floats, quants


def _rewrite(model: RawModel, deq, floats: list, quants: list) -> None:
    src = model.tensors[deq.inputs[0]]
    for t in floats:
        model.tensors[t].dtype, model.tensors[t].quant = src.dtype, src.quant
    alias = {deq.outputs[0]: deq.inputs[0]}
    alias.update({op.outputs[0]: op.inputs[0] for op in quants})
    dropped = [deq] + quants

    def resolve(k: int) -> int:
        while k in alias:
            k = alias[k]
        return k

    model.ops = [op for op in model.ops if not any(op is d for d in dropped)]
    for op in model.ops:
        op.inputs = [resolve(i) for i in op.inputs]
    model.outputs = [resolve(k) for k in model.outputs]
