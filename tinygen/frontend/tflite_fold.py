"""Fold shape-only and all-constant subgraphs of a parsed .tflite model into constants (NumPy).

Keras 3's Flatten, for instance, emits SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE: after folding
only RESHAPE remains, its shape input a constant that the op converter drops.
"""
from __future__ import annotations

import numpy as np

from ..errors import ModelFormatError
from .tflite_parse import RawModel, RawOp, RawTensor

# ops that only move or select values: folding them is exact even for quantized tensors
_MOVES = {"RESHAPE", "EXPAND_DIMS", "SQUEEZE", "STRIDED_SLICE", "PACK", "CONCATENATION",
          "GATHER", "TRANSPOSE"}
# ops computed in NumPy only when no tensor involved is quantized
_ARITH = {"ADD", "SUB", "MUL", "CAST"}
# ops whose result depends only on their input's static shape
_SHAPE_ONLY = {"SHAPE", "RANK"}


def fold_constants(model: RawModel) -> None:
    """Evaluate foldable ops in place: their outputs get `data`, the ops leave `model.ops`."""
    kept = []
    for op in model.ops:
        if _foldable(model, op):
            ins = [model.tensors[i] if i >= 0 else None for i in op.inputs]
            out = model.tensors[op.outputs[0]]
            value = _evaluate(op, ins, out)
            if value is not None:
                _store(model, op, out, value)
                continue
        kept.append(op)
    model.ops = kept


def _foldable(model: RawModel, op: RawOp) -> bool:
    if len(op.outputs) != 1 or op.outputs[0] in model.inputs:
        return False
    if op.opname in _SHAPE_ONLY:
        return bool(op.inputs) and op.inputs[0] >= 0
    if op.opname not in _MOVES | _ARITH:
        return False
    ins = [model.tensors[i] for i in op.inputs if i >= 0]
    if not ins or not all(t.data is not None for t in ins):
        return False
    out = model.tensors[op.outputs[0]]
    if op.opname in _ARITH:
        return out.quant is None and all(t.quant is None for t in ins)
    # a move is exact when the values keep their quantization
    return ins[0].quant == out.quant and op.options.get("FusedActivationFunction", 0) == 0


def _store(model: RawModel, op: RawOp, out: RawTensor, value: np.ndarray) -> None:
    value = np.asarray(value).astype(out.dtype)
    if int(np.prod(out.shape, dtype=np.int64)) != value.size:
        raise ModelFormatError(f"{model.source}: operator {op.index} ({op.opname}) output '{out.name}' "
                               f"has shape {list(out.shape)} but evaluates to shape {list(value.shape)}")
    out.data = value.reshape(out.shape)


def _evaluate(op: RawOp, ins: list, out: RawTensor):
    """The op's output as an array, or None when this case is not folded."""
    name, o = op.opname, op.options
    if name == "SHAPE":
        return np.array(ins[0].shape, dtype=out.dtype)
    if name == "RANK":
        return np.array(len(ins[0].shape), dtype=out.dtype)
    vals = [t.data if t is not None else None for t in ins]
    if name in ("RESHAPE", "EXPAND_DIMS", "SQUEEZE"):
        return vals[0]  # _store gives it the output tensor's shape
    if name == "CAST":
        return vals[0]
    if name == "TRANSPOSE":
        return np.transpose(vals[0], [int(p) for p in vals[1].reshape(-1)])
    if name == "CONCATENATION":
        return np.concatenate(vals, axis=int(o["Axis"]))
    if name == "PACK":
        axis = int(o["Axis"])
        return np.stack(vals, axis=axis if axis >= 0 else axis + vals[0].ndim + 1)
    if name == "GATHER":
        if int(o["BatchDims"]) != 0:
            return None
        return np.take(vals[0], vals[1].astype(np.int64), axis=int(o["Axis"]))
    if name == "STRIDED_SLICE":
        return _strided_slice(vals, o)
    if name in ("ADD", "SUB", "MUL"):
        if o.get("FusedActivationFunction", 0) != 0:
            return None
        fn = {"ADD": np.add, "SUB": np.subtract, "MUL": np.multiply}[name]
        return fn(vals[0], vals[1]).astype(out.dtype)
    return None


def _strided_slice(vals: list, o: dict):
    data, begin, end, strides = vals[0], *(v.reshape(-1).astype(np.int64) for v in vals[1:4])
    if o["EllipsisMask"] or o["NewAxisMask"] or not len(begin) == len(end) == len(strides):
        return None  # rare forms: left to the op converter, which reports STRIDED_SLICE
    if len(begin) > data.ndim or np.any(strides == 0):
        return None
    index = []
    for d, (b, e, s) in enumerate(zip(begin.tolist(), end.tolist(), strides.tolist())):
        if o["Offset"]:
            e = b + e
        if o["ShrinkAxisMask"] >> d & 1:
            index.append(b + data.shape[d] if b < 0 else b)
        else:
            start = None if o["BeginMask"] >> d & 1 else b
            stop = None if o["EndMask"] >> d & 1 else e
            index.append(slice(start, stop, s))
    return np.asarray(data[tuple(index)])
