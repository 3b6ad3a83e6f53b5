"""The ONNX frontend's graph builder: ONNX values -> IR tensors, and the layout each one is stored in.

Every ONNX value maps to a `Val`: either a NumPy constant (initializers, Constant nodes, and whatever the
frontend folds from them, e.g. Shape -> Gather -> Concat chains), or an IR tensor with a layout:

- `perm`: the IR tensor is the ONNX value transposed by `perm` (channels-last: NCHW -> NHWC is
  (0, 2, 3, 1), NCL -> NLC is (0, 2, 1)); `None` when both orders agree;
- `order`: for a rank-2 (1, K) value only, the IR row holds the ONNX row's elements in this order
  (ir[i] = onnx[order[i]]): a channels-last tensor flattened without a transpose. The FC that reads it
  reorders its weight columns, so PyTorch's NCHW flatten order costs nothing at run time.

An op that cannot take its input's layout calls `plain()`, which makes the ONNX order real with a
TRANSPOSE (the only place one is inserted).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from tinygen import ir
from tinygen.errors import UnsupportedError
from tinygen.ir import Graph, Op, OpKind, Tensor

CHANNELS_LAST = {3: (0, 2, 1), 4: (0, 2, 3, 1)}


@dataclass
class Val:
    shape: tuple  # the ONNX shape (batch 1)
    ir: Optional[str] = None  # the IR tensor name (None for a constant)
    const: Optional[np.ndarray] = None
    perm: Optional[tuple] = None
    order: Optional[np.ndarray] = None
    unflat: Optional[tuple] = None  # with `order`: (stored shape, perm) of the value it was flattened from

    @property
    def is_const(self) -> bool:
        return self.const is not None


def inverse(perm) -> tuple:
    return tuple(int(i) for i in np.argsort(perm))


class NodeError(UnsupportedError):
    """An error about one ONNX node; the builder prefixes the file and node."""


class Builder:
    def __init__(self, source: str, name: str):
        self.source = source
        self.g = Graph({}, [], [], [], name=name or "model", source=source)
        self.vals: dict = {}
        self.node = None  # the ONNX node being converted (for names and errors)

    # ---- errors and names ----------------------------------------------------------------------
    def where(self, node=None) -> str:
        node = node if node is not None else self.node
        return f"{self.source}: node '{node.name or node.output[0]}' ({node.op_type})"

    def fail(self, why: str) -> NodeError:
        return NodeError(f"{self.where()}: {why}")

    @property
    def name(self) -> str:
        return self.node.name or self.node.output[0]

    # ---- IR helpers --------------------------------------------------------------------------------
    def tensor(self, base: str, shape, data=None) -> str:
        name = self.g.unique_name(base)
        self.g.tensors[name] = Tensor(name, tuple(int(d) for d in shape), "float32", data=data)
        return name

    def const(self, base: str, value) -> str:
        value = np.ascontiguousarray(np.asarray(value, dtype=np.float32))
        return self.tensor(base, value.shape, data=value)

    def op(self, kind, inputs, out_shape, attrs=None, suffix: str = "") -> str:
        name = self.name + suffix
        out = self.tensor(name, out_shape)
        self.g.ops.append(Op(kind, name, list(inputs), [out], attrs if attrs is not None else ir.NoAttrs()))
        return out

    def ir_shape(self, v: Val) -> tuple:
        return self.g.tensors[v.ir].shape

    # ---- values --------------------------------------------------------------------------------
    def get(self, name: str) -> Val:
        if name not in self.vals:
            raise self.fail(f"input '{name}' is not produced by any node, initializer or graph input")
        return self.vals[name]

    def input(self, i: int) -> Optional[Val]:
        ins = self.node.input
        return self.get(ins[i]) if i < len(ins) and ins[i] else None

    def const_input(self, i: int, what: str) -> Optional[np.ndarray]:
        v = self.input(i)
        if v is None:
            return None
        if not v.is_const:
            raise self.fail(f"{what} (input {i}) must be a constant (an initializer), not a computed tensor")
        return v.const

    def act_input(self, i: int = 0) -> Val:
        """Input i as an IR tensor (a constant operand becomes an IR constant in ONNX order)."""
        v = self.input(i)
        if v is None:
            raise self.fail(f"input {i} is missing")
        if v.is_const:
            return Val(v.const.shape, ir=self.const(f"{self.name}/const", v.const))
        return v

    def set(self, i: int, v: Val) -> None:
        self.vals[self.node.output[i]] = v

    def plain(self, v: Val) -> Val:
        """`v` in ONNX order: a TRANSPOSE when its layout differs (a flat `order` goes back through its 4-D form)."""
        if v.is_const or (v.perm is None and v.order is None):
            return v
        if np.array_equal(flat_order(v), np.arange(int(np.prod(v.shape)))):  # same element order: a reshape
            t = self.op(OpKind.RESHAPE, [v.ir], v.shape, ir.ReshapeAttrs(), "/to_onnx_layout")
            return Val(v.shape, ir=t)
        if v.perm is not None:
            t = self.op(OpKind.TRANSPOSE, [v.ir], v.shape, _transpose_attrs(inverse(v.perm)), "/to_onnx_layout")
            return Val(v.shape, ir=t)
        if v.unflat is None:
            raise self.fail(f"a reordered flat value {list(v.shape)} cannot be put back in ONNX order here")
        src_shape, perm = v.unflat  # back to the stored 4-D (3-D) form, one TRANSPOSE, flat again
        x = self.op(OpKind.RESHAPE, [v.ir], src_shape, ir.ReshapeAttrs(), "/unflatten")
        onnx_shape = tuple(src_shape[i] for i in inverse(perm))
        x = self.op(OpKind.TRANSPOSE, [x], onnx_shape, _transpose_attrs(inverse(perm)), "/to_onnx_layout")
        return Val(v.shape, ir=self.op(OpKind.RESHAPE, [x], v.shape, ir.ReshapeAttrs(), "/flatten"))

    def channels_last(self, v: Val) -> Val:
        """`v` (rank 3 or 4) stored channels-last, transposing only when it is not already."""
        perm = CHANNELS_LAST.get(len(v.shape))
        if perm is None:
            raise self.fail(f"input of rank {len(v.shape)} {list(v.shape)}: expected rank 3 (N, C, L) or 4 (N, C, H, W)")
        if v.perm == perm:
            return v
        shape = tuple(v.shape[p] for p in perm)
        if v.perm is not None and v.order is None:  # one TRANSPOSE from the stored layout straight to NHWC
            inv = inverse(v.perm)
            t = self.op(OpKind.TRANSPOSE, [v.ir], shape, _transpose_attrs(tuple(inv[p] for p in perm)),
                        "/to_channels_last")
            return Val(v.shape, ir=t, perm=perm)
        v = self.plain(v)
        if np.array_equal(flat_order(Val(v.shape, perm=perm)), np.arange(int(np.prod(v.shape)))):
            return Val(v.shape, ir=self.op(OpKind.RESHAPE, [v.ir], shape, ir.ReshapeAttrs(), "/to_channels_last"),
                       perm=perm)
        t = self.op(OpKind.TRANSPOSE, [v.ir], shape, _transpose_attrs(perm), "/to_channels_last")
        return Val(v.shape, ir=t, perm=perm)

    def ir_axis(self, v: Val, axis: int) -> int:
        """The IR axis that holds ONNX axis `axis` of `v`."""
        rank = len(v.shape)
        if not -rank <= axis < rank:
            raise self.fail(f"axis {axis} is out of range for rank {rank}")
        axis %= rank
        return v.perm.index(axis) if v.perm is not None else axis

    def const_like(self, v: Val, c: np.ndarray, what: str) -> str:
        """A constant operand broadcast against activation `v`, stored in `v`'s layout."""
        c = np.asarray(c, dtype=np.float32)
        rank = len(v.shape)
        if c.ndim > rank:
            raise self.fail(f"{what} of rank {c.ndim} broadcasts to more dimensions than the input's {rank}")
        if v.perm is not None:
            c = np.transpose(c.reshape((1,) * (rank - c.ndim) + c.shape), v.perm)
            while c.ndim > 1 and c.shape[0] == 1:  # leading 1s add nothing (IR broadcasting is NumPy's)
                c = c[0]
        elif v.order is not None and c.size > 1:
            c = np.broadcast_to(c, v.shape).reshape(-1)[v.order].reshape(v.shape)
        return self.const(f"{self.name}/{what}", c)


def _transpose_attrs(perm):
    from tinygen.ops.layout_moves import TransposeAttrs
    return TransposeAttrs(tuple(int(p) for p in perm))


def flat_order(v: Val) -> np.ndarray:
    """For `v` flattened to (1, K) without moving data: ir_flat[i] = onnx_flat[order[i]]."""
    idx = np.arange(int(np.prod(v.shape)), dtype=np.int64).reshape(v.shape)
    if v.perm is not None:
        idx = np.transpose(idx, v.perm)
    idx = idx.reshape(-1)
    return idx if v.order is None else idx[v.order]
