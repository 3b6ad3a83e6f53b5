"""Lowering of PRELU (int8; int16 with an int8 alpha), MAXIMUM and MINIMUM (int8, int16) to
runtime_c/elementwise/tg_prelu_*.c and tg_maximum_* / tg_minimum_*.c.

Both operands are addressed with a 4-D broadcast walk after merging the dimensions they step through
alike (TFLM's broadcast loop does the same, up to rank 8); either may be a constant (a const array). PRELU's multipliers are TFLM's, formed in double:
s_in / s_out for x >= 0 and s_in * s_alpha / s_out for the product (x - zp) * (alpha - zp_alpha); for
int8 the x >= 0 branch is a 256-entry table computed here with the same arithmetic.
MAXIMUM / MINIMUM compare the stored integers (TFLM does not requantize them). All may run in place
over an input of the output's shape and type: element i is read before it is written.
"""
from __future__ import annotations

import numpy as np

from tinygen.errors import UnsupportedError
from tinygen.ir import Graph, Op, OpKind
from tinygen.quant import qmath
from tinygen.lower.base import ConstArg, ConstArray, Kernel, Literal, LoweredOp, TensorArg, register
from tinygen.ops.prelu_minmax import KERNEL_RANK, fuse_broadcast

_RANGE = {"int8": (-128, 127), "int16": (-32768, 32767)}
_SUFFIX = {"int8": "s8", "int16": "s16"}


def _fail(op: Op, why: str) -> UnsupportedError:
    return UnsupportedError(f"layer '{op.name}' ({op.kind.value}): {why}")


class Operands:
    """The two inputs of a broadcasting op, walked in 4-D after merging dimensions that broadcast alike
    (any rank up to TFLM's 8 whose merged broadcast has <= 4 dimensions): C arguments, const arrays,
    reference feeding."""

    def __init__(self, op: Op, graph: Graph):
        if len(op.inputs) != 2 or None in op.inputs:
            raise _fail(op, "expects 2 inputs")
        self.tensors = [graph.tensors[t] for t in op.inputs]
        self.out_shape = tuple(graph.tensors[op.outputs[0]].shape)
        try:
            if np.broadcast_shapes(*(t.shape for t in self.tensors)) != self.out_shape:
                raise ValueError(f"the inputs do not broadcast to the output {list(self.out_shape)}")
        except ValueError as exc:
            raise _fail(op, str(exc)) from None
        dims, a_st, b_st = fuse_broadcast(self.tensors[0].shape, self.tensors[1].shape, self.out_shape)
        if len(dims) > KERNEL_RANK:
            raise _fail(op, f"the broadcast spans {len(dims)} separate dimensions (at most {KERNEL_RANK})")
        pad = KERNEL_RANK - len(dims)
        self.dims = (1,) * pad + dims
        self.strides = [(0,) * pad + a_st, (0,) * pad + b_st]
        self.const_arrays: list = []
        self.pointers: list = []
        for i, t in enumerate(self.tensors):
            if t.is_const:
                self.pointers.append(ConstArg(len(self.const_arrays)))
                self.const_arrays.append(ConstArray(f"in{i + 1}", np.asarray(t.data, np.dtype(t.dtype)).reshape(-1)))
            else:
                self.pointers.append(TensorArg(op.inputs[i]))

    def c_operands(self) -> list:
        """Output dims, then (strides, pointer) of input 1 and of input 2."""
        args = [Literal(d) for d in self.dims]
        for strides, ptr in zip(self.strides, self.pointers):
            args += [Literal(s) for s in strides] + [ptr]
        return args

    def values(self, inputs: list) -> tuple:
        """Both operands as int64 arrays broadcast to the output shape (consts filled in)."""
        it = iter(inputs)
        vals = [np.asarray(t.data if t.is_const else next(it), np.int64).reshape(t.shape) for t in self.tensors]
        return tuple(np.broadcast_to(v, self.out_shape) for v in vals)


def _types(op: Op, graph: Graph) -> tuple:
    return tuple(graph.tensors[t].dtype for t in op.inputs if t is not None) + (graph.tensors[op.outputs[0]].dtype,)


def _inplace_input(op: Op, graph: Graph):
    """An activation input with the output's shape and type: the output may overwrite it."""
    out = graph.tensors[op.outputs[0]]
    for name in op.inputs:
        t = graph.tensors[name]
        if not t.is_const and tuple(t.shape) == tuple(out.shape) and t.dtype == out.dtype:
            return name
    return None


def _per_tensor(op: Op, graph: Graph, names: list) -> None:
    for name in names:
        t = graph.tensors[name]
        if t.quant is None or t.quant.per_axis:
            raise _fail(op, f"tensor '{name}' needs per-tensor quantization")


def prelu_reference(x, alpha, params: tuple, dtype: str):
    """TFLM's quantized PRELU on int64 arrays: the x >= 0 branch rescales x - zp, the other the product
    of x - zp and alpha - zp_alpha; then the output zero point and the type's range."""
    in_off, alpha_off, out_off, m1, s1, m2, s2 = params
    v = x + in_off
    pos = qmath.multiply_by_quantized_multiplier(v, m1, s1)
    neg = qmath.multiply_by_quantized_multiplier(v * (alpha + alpha_off), m2, s2)
    lo, hi = _RANGE[dtype]
    return np.clip(np.where(v >= 0, pos, neg) + out_off, lo, hi)


class PreluKernel(Kernel):
    """PRELU int8 (alpha int8) and int16 (alpha int8), TFLM's BroadcastPrelu4DSlow."""

    kinds = (OpKind.PRELU,)

    def supports(self, op: Op, graph: Graph) -> bool:
        return _types(op, graph) in (("int8", "int8", "int8"), ("int16", "int8", "int16"))

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        ops = Operands(op, graph)
        _per_tensor(op, graph, list(op.inputs) + list(op.outputs))
        x, alpha = ops.tensors
        out = graph.tensors[op.outputs[0]]
        m1, s1 = qmath.quantize_multiplier(float(x.scale) / float(out.scale))
        m2, s2 = qmath.quantize_multiplier(float(x.scale) * float(alpha.scale) / float(out.scale))
        params = (-x.zero_point, -alpha.zero_point, out.zero_point, m1, s1, m2, s2)
        dtype = out.dtype
        arrays = list(ops.const_arrays)
        if dtype == "int8":  # the x >= 0 branch as a table of its 256 outputs (alpha does not enter it)
            q = np.arange(-128, 128, dtype=np.int64)
            table = prelu_reference(q, np.zeros_like(q), params, dtype).astype(np.int8)
            arrays.append(ConstArray("pos", table))
            head = [Literal(v) for v in params[:3]] + [ConstArg(len(arrays) - 1), Literal(m2), Literal(s2)]
        else:
            head = [Literal(v) for v in params]
        args = head + ops.c_operands() + [TensorArg(op.outputs[0], const=False)]

        def reference(inputs: list) -> list:
            xv, av = ops.values(inputs)
            return [prelu_reference(xv, av, params, dtype).astype(dtype)]

        fn = f"tg_prelu_{_SUFFIX[dtype]}"
        return LoweredOp(op, fn, (fn + ".c",), args, arrays, reference,
                         inplace_of=_inplace_input(op, graph), notes={"pos": (m1, s1), "neg": (m2, s2)})


class MinMaxKernel(Kernel):
    """MAXIMUM / MINIMUM, int8 or int16: the larger / smaller stored value of the two operands."""

    kinds = (OpKind.MAXIMUM, OpKind.MINIMUM)

    def supports(self, op: Op, graph: Graph) -> bool:
        return _types(op, graph) in (("int8",) * 3, ("int16",) * 3)

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        ops = Operands(op, graph)
        out = graph.tensors[op.outputs[0]]
        pick = np.maximum if op.kind == OpKind.MAXIMUM else np.minimum
        args = ops.c_operands() + [TensorArg(op.outputs[0], const=False)]

        def reference(inputs: list) -> list:
            a, b = ops.values(inputs)
            return [pick(a, b).astype(out.dtype)]

        fn = f"tg_{op.kind.value.lower()}_{_SUFFIX[out.dtype]}"
        return LoweredOp(op, fn, (fn + ".c",), args, ops.const_arrays, reference,
                         inplace_of=_inplace_input(op, graph))


register(PreluKernel())
register(MinMaxKernel())
