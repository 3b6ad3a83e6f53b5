"""Fold shape-only and all-constant subgraphs of a parsed .tflite model into constants (NumPy).

Keras 3's Flatten, for instance, emits SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE: after folding
only RESHAPE remains, its shape input a constant that the op converter drops. DEQUANTIZE, QUANTIZE and
the multi-output moves (SPLIT, SPLIT_V, UNPACK) of constants fold as TFLM computes them
(`tflite_fold_quant`), so a float island over constants in an int8 model becomes int8 constants.
"""
from __future__ import annotations

import numpy as np

from tinygen.errors import ModelFormatError
from tinygen.frontend.tflite_fold_island import remove_float_islands
from tinygen.frontend.tflite_fold_quant import MULTI_DATA_INPUT, fold_multi, fold_quant
from tinygen.frontend.tflite_parse import RawModel, RawOp, RawTensor

# ops that only move or select values: folding them is exact even for quantized tensors
_MOVES = {"RESHAPE", "EXPAND_DIMS", "SQUEEZE", "STRIDED_SLICE", "PACK", "CONCATENATION",
          "GATHER", "TRANSPOSE", "BROADCAST_TO"}
# ops computed in NumPy only when no tensor involved is quantized
_ARITH = {"ADD", "SUB", "MUL", "CAST"}
# ops whose result depends only on their input's static shape
_SHAPE_ONLY = {"SHAPE", "RANK"}
# ops that change a constant's representation (float <-> integer), computed as TFLM's kernels do
_QUANT = {"DEQUANTIZE", "QUANTIZE"}
# float fused activations (FusedActivationFunction code -> clamp range)
_FLOAT_ACT = {0: (None, None), 1: (0.0, None), 2: (-1.0, 1.0), 3: (0.0, 6.0)}


def fold_constants(model: RawModel) -> None:
    """Evaluate foldable ops in place: their outputs get `data`, the ops leave `model.ops`. Then float
    islands that only carry integers through moves become those moves on the integers (tflite_fold_island)."""
    kept = []
    for op in model.ops:
        if op.opname in MULTI_DATA_INPUT and _multi_foldable(model, op):
            values = _evaluate_multi(model, op)
            if values is not None:
                for k, value in zip(op.outputs, values):
                    _store(model, op, model.tensors[k], value)
                continue
        elif _foldable(model, op):
            ins = [model.tensors[i] if i >= 0 else None for i in op.inputs]
            out = model.tensors[op.outputs[0]]
            value = _evaluate(op, ins, out, model.source)
            if value is not None:
                _store(model, op, out, value)
                continue
        kept.append(op)
    model.ops = kept
    remove_float_islands(model)


def _bad(source: str, op: RawOp, out: RawTensor):
    def bad(msg: str) -> ModelFormatError:
        return ModelFormatError(f"{source}: operator {op.index} ({op.opname}) output '{out.name}': {msg}")
    return bad


def _multi_foldable(model: RawModel, op: RawOp) -> bool:
    """SPLIT / SPLIT_V / UNPACK over constants whose outputs keep the data's quantization."""
    if not op.outputs or any(k < 0 or k in model.inputs for k in op.outputs) or any(i < 0 for i in op.inputs):
        return False
    if len(op.inputs) <= MULTI_DATA_INPUT[op.opname]:
        return False
    if not all(model.tensors[i].data is not None for i in op.inputs):
        return False
    data = model.tensors[op.inputs[MULTI_DATA_INPUT[op.opname]]]
    return all(model.tensors[k].quant == data.quant and model.tensors[k].dtype == data.dtype for k in op.outputs)


def _evaluate_multi(model: RawModel, op: RawOp):
    bad = _bad(model.source, op, model.tensors[op.outputs[0]])
    vals = [model.tensors[i].data for i in op.inputs]
    return fold_multi(bad, lambda axis, rank: _axis(bad, axis, rank), op.opname, vals, op.options,
                      len(op.outputs))


def _foldable(model: RawModel, op: RawOp) -> bool:
    if len(op.outputs) != 1 or op.outputs[0] in model.inputs:
        return False
    if op.opname in _SHAPE_ONLY:
        return bool(op.inputs) and op.inputs[0] >= 0
    if op.opname not in _MOVES | _ARITH | _QUANT:
        return False
    ins = [model.tensors[i] for i in op.inputs if i >= 0]
    if not ins or not all(t.data is not None for t in ins):
        return False
    out = model.tensors[op.outputs[0]]
    if op.opname in _QUANT:
        return True  # fold_quant declines the forms it does not compute
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


# inputs each folded op needs (fewer, or an absent one: the op is left to the converter, which names it)
_ARITY = {"TRANSPOSE": 2, "GATHER": 2, "STRIDED_SLICE": 4, "ADD": 2, "SUB": 2, "MUL": 2, "BROADCAST_TO": 2}


def _evaluate(op: RawOp, ins: list, out: RawTensor, source: str):
    """The op's output as an array, or None when this case is not folded.

    Every operand is checked before NumPy sees it: a bad one is a ModelFormatError naming the operator.
    """
    name, o = op.opname, op.options
    if name == "SHAPE":
        return np.array(ins[0].shape, dtype=out.dtype)
    if name == "RANK":
        return np.array(len(ins[0].shape), dtype=out.dtype)
    need = _ARITY.get(name, 1)
    if len(ins) < need or any(t is None for t in ins[:need]):
        return None
    if name in ("CONCATENATION", "PACK") and any(t is None for t in ins):
        return None
    vals = [t.data if t is not None else None for t in ins]
    bad = _bad(source, op, out)
    if name in _QUANT:
        return fold_quant(bad, name, ins, out)
    if name in ("RESHAPE", "EXPAND_DIMS", "SQUEEZE"):
        return vals[0]  # _store gives it the output tensor's shape
    if name == "CAST":
        return vals[0]
    if name == "BROADCAST_TO":
        shape = tuple(int(v) for v in vals[1].reshape(-1)) if vals[1].dtype.kind in "iu" else None
        if shape is None or vals[0].ndim > len(shape) or any(
                n not in (1, m) for n, m in zip(vals[0].shape, shape[len(shape) - vals[0].ndim:])):
            raise bad(f"input {list(vals[0].shape)} does not broadcast to shape {vals[1].reshape(-1).tolist()}")
        return np.broadcast_to(vals[0], shape)
    if name == "TRANSPOSE":
        if not np.issubdtype(vals[1].dtype, np.integer):
            raise bad(f"perm is a {vals[1].dtype} tensor, expected integers")
        perm = [int(p) for p in vals[1].reshape(-1)]
        if sorted(perm) != list(range(vals[0].ndim)):
            raise bad(f"perm {perm} is not a permutation of the {vals[0].ndim} input axes")
        return np.transpose(vals[0], perm)
    if name == "CONCATENATION":
        rank = vals[0].ndim
        axis = _axis(bad, int(o["Axis"]), rank)
        for k, v in enumerate(vals):
            if v.ndim != rank or any(v.shape[d] != vals[0].shape[d] for d in range(rank) if d != axis):
                raise bad(f"input {k} {list(v.shape)} does not concatenate with {list(vals[0].shape)} on axis {axis}")
        return np.concatenate(vals, axis=axis)
    if name == "PACK":
        axis = _axis(bad, int(o["Axis"]), vals[0].ndim + 1)
        for k, v in enumerate(vals):
            if v.shape != vals[0].shape:
                raise bad(f"input {k} {list(v.shape)} differs from input 0 {list(vals[0].shape)}")
        return np.stack(vals, axis=axis)
    if name == "GATHER":
        if int(o["BatchDims"]) != 0:
            return None
        data, idx = vals
        if not np.issubdtype(idx.dtype, np.integer):
            raise bad(f"indices are a {idx.dtype} tensor, expected integers")
        if data.ndim == 0:
            raise bad("gathers from a scalar")
        axis = _axis(bad, int(o["Axis"]), data.ndim)
        if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= data.shape[axis]):
            raise bad(f"indices [{int(idx.min())}, {int(idx.max())}] outside axis {axis} of size {data.shape[axis]}")
        return np.take(data, idx.astype(np.int64), axis=axis)
    if name == "STRIDED_SLICE":
        if not all(np.issubdtype(v.dtype, np.integer) for v in vals[1:4]):
            return None  # the op converter rejects non-integer begin / end / strides by name
        return _strided_slice(bad, vals, o)
    if name in ("ADD", "SUB", "MUL"):
        act = o.get("FusedActivationFunction", 0)
        if act != 0 and (act not in _FLOAT_ACT or out.dtype != "float32"):
            return None
        a, b = vals[0].shape, vals[1].shape
        rank = max(len(a), len(b))
        a, b = (1,) * (rank - len(a)) + a, (1,) * (rank - len(b)) + b
        if any(m != n and 1 not in (m, n) for m, n in zip(a, b)):
            raise bad(f"inputs {list(vals[0].shape)} and {list(vals[1].shape)} do not broadcast")
        fn = {"ADD": np.add, "SUB": np.subtract, "MUL": np.multiply}[name]
        with np.errstate(all="ignore"):  # integer wrap-around, as the op's int types do
            value = fn(vals[0], vals[1]).astype(out.dtype)
        lo, hi = _FLOAT_ACT[act]
        return value if act == 0 else np.clip(value, lo, hi if hi is not None else np.inf).astype(out.dtype)
    return None


def _axis(bad, axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        raise bad(f"axis {axis} is out of range for rank {rank}")
    return axis % rank


def _strided_slice(bad, vals: list, o: dict):
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
            if not -data.shape[d] <= b < data.shape[d]:
                raise bad(f"shrinks dimension {d} of size {data.shape[d]} at index {b}")
            index.append(b + data.shape[d] if b < 0 else b)
        else:
            start = None if o["BeginMask"] >> d & 1 else b
            stop = None if o["EndMask"] >> d & 1 else e
            index.append(slice(start, stop, s))
    return np.asarray(data[tuple(index)])
