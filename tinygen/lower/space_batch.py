"""Lowering of SPACE_TO_BATCH_ND and BATCH_TO_SPACE_ND, int8 and int16: block copies, no arithmetic.

An NHC tensor is passed to the NHWC kernels with W = 1 (block 1, no padding on it). The planner gives
the output its own buffer: both ops permute elements, so no in-place variant is safe.

Pad value of SPACE_TO_BATCH_ND: the output zero point. TFLite's reference kernel fills padding with
memset(zero point), which is the zero point itself for int8 and for the zero point 0 that TFLite's
int16 kernel requires (anything else it refuses, and so does tinygen).
"""
from __future__ import annotations

import numpy as np

from tinygen.errors import UnsupportedError
from tinygen.ir import Graph, Op, OpKind
from tinygen.lower.base import Kernel, Literal, LoweredOp, TensorArg, register
from tinygen.ops.space_batch import batch_to_space, space_to_batch

_TYPES = {"int8": "s8", "int16": "s16"}


def _fail(op: Op, msg: str) -> UnsupportedError:
    return UnsupportedError(f"layer '{op.name}' ({op.kind.value}): {msg}")


def _geometry(op: Op, shape: tuple) -> tuple:
    """(batch, h, w, depth, block_h, block_w, before_h, before_w) of an NHC / NHWC tensor."""
    block, pads = op.attrs.block, op.attrs.pads
    if len(shape) == 3:
        return shape[0], shape[1], 1, shape[2], block[0], 1, pads[0][0], 0
    if len(shape) == 4:
        return (*shape, block[0], block[1], pads[0][0], pads[1][0])
    raise _fail(op, f"tensor of shape {list(shape)} must be NHC (rank 3) or NHWC (rank 4)")


class _SpaceBatch(Kernel):
    def supports(self, op: Op, graph: Graph) -> bool:
        x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
        return x.dtype in _TYPES and y.dtype == x.dtype


class SpaceToBatchND(_SpaceBatch):
    """SPACE_TO_BATCH_ND of an int8 or int16 NHC / NHWC tensor."""

    kinds = (OpKind.SPACE_TO_BATCH_ND,)

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
        if y.quant is None:
            raise _fail(op, f"output '{y.name}' needs quantization parameters (its zero point pads)")
        n, h, w, c, bh, bw, pt, pl = _geometry(op, x.shape)
        _, oh, ow, _ = _geometry(op, y.shape)[:4]
        value = int(y.zero_point)
        if x.dtype == "int16" and (value != 0 or x.zero_point != 0):
            raise _fail(op, f"int16 input and output need zero point 0 (TFLite's kernel refuses others), "
                            f"got {x.zero_point} and {value}")
        block, pads, dtype = op.attrs.block, op.attrs.pads, x.dtype
        args = [Literal(v) for v in (n, h, w, c)] + [TensorArg(x.name)]
        args += [Literal(v) for v in (bh, bw, pt, pl, value, oh, ow)] + [TensorArg(y.name, const=False)]

        def reference(ins: list) -> list:
            return [space_to_batch(np.asarray(ins[0], dtype).reshape(x.shape), block, pads, value)]

        fn = f"tg_space_to_batch_nd_{_TYPES[dtype]}"
        return LoweredOp(op, fn, (f"{fn}.c",), args, [], reference, notes={"pad_value": value})


class BatchToSpaceND(_SpaceBatch):
    """BATCH_TO_SPACE_ND of an int8 or int16 NHC / NHWC tensor."""

    kinds = (OpKind.BATCH_TO_SPACE_ND,)

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
        nb, h, w, c, bh, bw, ct, cl = _geometry(op, x.shape)
        _, oh, ow, _ = _geometry(op, y.shape)[:4]
        block, crops, dtype = op.attrs.block, op.attrs.pads, x.dtype
        args = [Literal(v) for v in (nb, h, w, c)] + [TensorArg(x.name)]
        args += [Literal(v) for v in (bh, bw, ct, cl, oh, ow)] + [TensorArg(y.name, const=False)]

        def reference(ins: list) -> list:
            return [batch_to_space(np.asarray(ins[0], dtype).reshape(x.shape), block, crops)]

        fn = f"tg_batch_to_space_nd_{_TYPES[dtype]}"
        return LoweredOp(op, fn, (f"{fn}.c",), args, [], reference)


register(SpaceToBatchND())
register(BatchToSpaceND())
