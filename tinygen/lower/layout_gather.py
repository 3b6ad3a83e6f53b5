"""Lowering of PACK (int8 / int16, on the CONCATENATION kernels), GATHER and GATHER_ND (int8 params,
int32 indices: constant or computed). Values are copied, never requantized (as TFLM does).

Indices that are constants are checked at compile time; computed indices are checked by the kernel,
which returns TG_ERROR on one outside its dimension (TFLM's invoke fails then too).
"""
from __future__ import annotations

import numpy as np

from tinygen.errors import ModelFormatError, UnsupportedError
from tinygen.ir import Graph, Op, OpKind
from tinygen.lower.base import ConstArg, ConstArray, Kernel, Literal, LoweredOp, TensorArg, register
from tinygen.ops.layout_moves import gather_numpy

_CONCAT = {"int8": "tg_concat_s8", "int16": "tg_concat_s16"}


def _fail(op: Op, msg: str) -> UnsupportedError:
    return UnsupportedError(f"layer '{op.name}' ({op.kind.value}): {msg}")


def _pointer(graph: Graph, name: str, consts: list, suffix: str, dtype):
    """A TensorArg for an activation, or a ConstArg to a new constant array for a constant tensor."""
    t = graph.tensors[name]
    if not t.is_const:
        return TensorArg(name)
    consts.append(ConstArray(suffix, np.asarray(t.data).astype(dtype).reshape(-1)))
    return ConstArg(len(consts) - 1)


def _operands(graph: Graph, op: Op, inputs: list) -> list:
    """The op's inputs as arrays: constants from the graph, activations in order from `inputs`."""
    it = iter(inputs)
    return [np.asarray(graph.tensors[t].data) if graph.tensors[t].is_const else np.asarray(next(it))
            for t in op.inputs]


class PackCopy(Kernel):
    """int8 / int16 PACK: stacking N inputs along a new axis is concatenating rows of the inputs, each
    input contributing prod(shape[axis:]) elements to each of the prod(shape[:axis]) output rows."""

    kinds = (OpKind.PACK,)

    def supports(self, op: Op, graph: Graph) -> bool:
        y = graph.tensors[op.outputs[0]]
        return y.dtype in _CONCAT and all(graph.tensors[t].dtype == y.dtype for t in op.inputs)

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        y_t = graph.tensors[op.outputs[0]]
        shape, axis = graph.tensors[op.inputs[0]].shape, op.attrs.axis
        outer = int(np.prod(shape[:axis], dtype=np.int64))
        inner = int(np.prod(shape[axis:], dtype=np.int64))
        n = len(op.inputs)
        consts = [ConstArray("inner", np.full(n, inner, np.int32))]
        pointers = [_pointer(graph, t, consts, f"in{k}", y_t.dtype) for k, t in enumerate(op.inputs)]
        fn = _CONCAT[y_t.dtype]
        args = [Literal(outer), Literal(inner * n), Literal(n), ConstArg(0), TensorArg(y_t.name, const=False)]

        def reference(inputs: list) -> list:
            return [np.stack(_operands(graph, op, inputs), axis=axis).astype(y_t.dtype)]

        return LoweredOp(op, fn, (fn + ".c",), args + pointers, consts, reference)


def _check_const_indices(op: Op, graph: Graph, limits) -> None:
    """Constant indices must be inside their dimensions (TFLM's invoke would fail on the first that is not)."""
    t = graph.tensors[op.inputs[1]]
    if t.is_const:
        idx = np.asarray(t.data, np.int64)
        bad = (idx < 0) | (idx >= limits)
        if bad.any():
            raise ModelFormatError(f"layer '{op.name}' ({op.kind.value}): constant index "
                                   f"{int(idx[bad].reshape(-1)[0])} is outside its dimension")


def _int8_int32(op: Op, graph: Graph) -> bool:
    p, i, y = (graph.tensors[t] for t in (op.inputs[0], op.inputs[1], op.outputs[0]))
    return p.dtype == y.dtype == "int8" and i.dtype == "int32"


class GatherS8(Kernel):
    """int8 GATHER along any axis, with batch dimensions, by int32 indices."""

    kinds = (OpKind.GATHER,)

    def supports(self, op: Op, graph: Graph) -> bool:
        return _int8_int32(op, graph)

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        p_t, i_t, y_t = (graph.tensors[t] for t in (op.inputs[0], op.inputs[1], op.outputs[0]))
        a = op.attrs
        if p_t.is_const and i_t.is_const:
            raise _fail(op, "both inputs are constants; it should have been folded before lowering")
        p = [int(d) for d in p_t.shape]
        batches = int(np.prod(p[:a.batch_dims], dtype=np.int64))
        outer = int(np.prod(p[a.batch_dims:a.axis], dtype=np.int64))
        inner = int(np.prod(p[a.axis + 1:], dtype=np.int64))
        n_idx = int(np.prod(i_t.shape[a.batch_dims:], dtype=np.int64))
        _check_const_indices(op, graph, p[a.axis])
        consts: list = []
        idx_arg = _pointer(graph, i_t.name, consts, "indices", np.int32)
        params_arg = _pointer(graph, p_t.name, consts, "params", np.int8)
        args = [Literal(batches), Literal(outer), Literal(p[a.axis]), Literal(n_idx), Literal(inner),
                idx_arg, params_arg, TensorArg(y_t.name, const=False)]

        def reference(inputs: list) -> list:
            params, idx = _operands(graph, op, inputs)
            if np.any(idx < 0) or np.any(idx >= p[a.axis]):
                raise ValueError(f"layer '{op.name}' (GATHER): an index is outside [0, {p[a.axis]})")
            return [gather_numpy(params, idx.astype(np.int64), a.axis, a.batch_dims).reshape(y_t.shape)]

        return LoweredOp(op, "tg_gather_s8", ("tg_gather_s8.c",), args, consts, reference)


class GatherNdS8(Kernel):
    """int8 GATHER_ND by int32 index tuples."""

    kinds = (OpKind.GATHER_ND,)

    def supports(self, op: Op, graph: Graph) -> bool:
        return _int8_int32(op, graph)

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        p_t, i_t, y_t = (graph.tensors[t] for t in (op.inputs[0], op.inputs[1], op.outputs[0]))
        if p_t.is_const and i_t.is_const:
            raise _fail(op, "both inputs are constants; it should have been folded before lowering")
        p = [int(d) for d in p_t.shape]
        k = int(i_t.shape[-1])
        steps = [int(np.prod(p[d + 1:], dtype=np.int64)) for d in range(k)]
        slices = int(np.prod(i_t.shape[:-1], dtype=np.int64))
        _check_const_indices(op, graph, np.asarray(p[:k], np.int64))
        consts = [ConstArray("dims_steps", np.asarray(p[:k] + steps, np.int32))]
        idx_arg = _pointer(graph, i_t.name, consts, "indices", np.int32)
        params_arg = _pointer(graph, p_t.name, consts, "params", np.int8)
        args = [Literal(slices), Literal(k), Literal(int(np.prod(p[k:], dtype=np.int64))), ConstArg(0),
                idx_arg, params_arg, TensorArg(y_t.name, const=False)]

        def reference(inputs: list) -> list:
            params, idx = _operands(graph, op, inputs)
            if np.any(idx < 0) or np.any(idx >= np.asarray(p[:k])):
                raise ValueError(f"layer '{op.name}' (GATHER_ND): an index is outside its dimension")
            return [params[tuple(np.moveaxis(idx.astype(np.int64), -1, 0))].reshape(y_t.shape)]

        return LoweredOp(op, "tg_gather_nd_s8", ("tg_gather_nd_s8.c",), args, consts, reference)


for _kernel in (PackCopy(), GatherS8(), GatherNdS8()):
    register(_kernel)
