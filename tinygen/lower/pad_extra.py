"""Lowering of MIRROR_PAD, REVERSE_V2 and BROADCAST_TO (int8, int16) to one per-axis gather kernel.

The op spec says which input index each output index reads, axis by axis (`ops.pad_extra.source_indices`);
the lowering turns those indices into input element offsets (index times the axis' stride), drops
output axes of size 1, joins the trailing axes that are a plain contiguous copy (so the kernel copies
whole rows), and joins neighbouring axes (outer sum of their offsets) until at most 4 remain. The
tables are constant data: one int32 per output index per axis. No rescaling: values are copied.
"""
from __future__ import annotations

import numpy as np

from tinygen.errors import UnsupportedError
from tinygen.ir import Graph, Op, OpKind
from tinygen.lower.base import ConstArg, ConstArray, Kernel, Literal, LoweredOp, TensorArg, register
from tinygen.ops.pad_extra import gather, source_indices

_TYPES = {"int8": "s8", "int16": "s16"}


def _strides(shape: tuple) -> list:
    out, acc = [], 1
    for n in reversed(shape):
        out.append(acc)
        acc *= int(n)
    return out[::-1]


def gather_plan(in_shape: tuple, out_shape: tuple, tables: list) -> tuple:
    """([d0, d1, d2, d3], int32 offsets of the four tables end to end, contiguous_rows)."""
    shape = (1,) * (len(out_shape) - len(in_shape)) + tuple(in_shape)
    axes = [np.asarray(t, np.int64) * s for t, s in zip(tables, _strides(shape))]
    axes = [a for a in axes if a.size != 1 or a[0] != 0]  # size-1 axes that read index 0 add nothing
    # a trailing run of plain copies becomes one longer row
    while len(axes) >= 2 and _plain(axes[-1], 1) and _plain(axes[-2], axes[-1].size):
        axes[-2:] = [np.arange(axes[-2].size * axes[-1].size, dtype=np.int64)]
    while len(axes) > 4:
        k = min(range(len(axes) - 1), key=lambda i: axes[i].size * axes[i + 1].size)
        axes[k:k + 2] = [(axes[k][:, None] + axes[k + 1][None, :]).reshape(-1)]
    axes = [np.zeros(1, np.int64)] * (4 - len(axes)) + axes
    offsets = np.concatenate(axes)
    if offsets.size and int(offsets.max()) >= 1 << 31:
        raise ValueError("input offsets overflow int32")
    return [int(a.size) for a in axes], offsets.astype(np.int32), _plain(axes[-1], 1)


def _plain(offsets: np.ndarray, step: int) -> bool:
    return bool(np.array_equal(offsets, np.arange(offsets.size, dtype=np.int64) * step))


class AxisGather(Kernel):
    """MIRROR_PAD, REVERSE_V2 and BROADCAST_TO of an int8 or int16 tensor of rank 1..5."""

    kinds = (OpKind.MIRROR_PAD, OpKind.REVERSE_V2, OpKind.BROADCAST_TO)

    def supports(self, op: Op, graph: Graph) -> bool:
        x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
        return x.dtype in _TYPES and y.dtype == x.dtype

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
        tables = source_indices(op, tuple(x.shape), tuple(y.shape))
        try:
            dims, offsets, contiguous = gather_plan(tuple(x.shape), tuple(y.shape), tables)
        except ValueError as exc:
            raise UnsupportedError(f"layer '{op.name}' ({op.kind.value}): {exc}") from None
        fn = f"tg_axis_gather_{_TYPES[x.dtype]}"
        args = [Literal(d) for d in dims] + [ConstArg(0), Literal(int(contiguous)), TensorArg(x.name),
                                             TensorArg(y.name, const=False)]
        dtype, in_shape, out_shape = x.dtype, tuple(x.shape), tuple(y.shape)

        def reference(ins: list) -> list:
            return [gather(np.asarray(ins[0], dtype).reshape(in_shape), tables, out_shape)]

        return LoweredOp(op, fn, (f"{fn}.c",), args, [ConstArray("offsets", offsets)], reference,
                         notes={"gather_dims": dims, "contiguous_rows": bool(contiguous)})


register(AxisGather())
