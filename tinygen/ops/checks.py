"""The validator's per-op machinery: `CheckContext` (the op, its tensors, errors that name the file, layer and
field) and the checks every op kind runs first. A check is a function (c: CheckContext) -> None whose
docstring states the rule; a failing check raises through `c.bad` / `c.unsupported`, which append it."""
from __future__ import annotations

from typing import Optional

import numpy as np

from tinygen import ir
from tinygen.errors import ModelFormatError, UnsupportedError
from tinygen.ir import Graph, Op

MAX_ELEMENTS = (1 << 31) - 1  # C kernels index with int32: every count and offset must fit
MAX_PAD = 1 << 16
QUANTIZED = ("int8", "uint8", "int16")


def checked_product(dims, cap: int = MAX_ELEMENTS) -> Optional[int]:
    """Product of `dims` or None as soon as a partial product exceeds `cap` (C int32 overflow)."""
    n = 1
    for d in dims:
        n *= int(d)
        if n > cap:
            return None
    return n


class CheckContext:
    """One op under validation: `ins` (tensors, None where absent), `out`, `a` (attrs), and helpers."""

    def __init__(self, graph: Graph, op: Op, source: str):
        self.graph, self.op, self.source, self.a = graph, op, source, op.attrs
        self.where = f"layer '{op.name}' ({op.kind.value})"
        self.rule = ""  # docstring of the check running now
        self.ins = [None if t is None else graph.tensors[t] for t in op.inputs]
        self.out = graph.tensors[op.outputs[0]] if op.outputs else None

    def _msg(self, msg: str) -> str:
        rule = f" (rule: {self.rule})" if self.rule else ""
        return f"{self.source}: {self.where}: {msg}{rule}"

    def bad(self, msg: str) -> ModelFormatError:
        return ModelFormatError(self._msg(msg))

    def unsupported(self, msg: str) -> UnsupportedError:
        return UnsupportedError(self._msg(msg))

    def rank(self, t: ir.Tensor, r: int, role: str) -> None:
        if len(t.shape) != r:
            raise self.bad(f"{role} '{t.name}' has shape {list(t.shape)}, expected rank {r}")

    def const(self, t: ir.Tensor, role: str) -> None:
        if not t.is_const:
            raise self.unsupported(f"{role} '{t.name}' must be a constant")

    def out_is(self, shape, role: str = "output") -> None:
        o = self.out
        if tuple(o.shape) != tuple(shape):
            raise self.bad(f"{role} '{o.name}' has shape {list(o.shape)}, the op computes {list(shape)}")

    def positive(self, names: tuple) -> None:
        for n in names:
            v = getattr(self.a, n)
            if not isinstance(v, (int, np.integer)) or not 1 <= v <= MAX_ELEMENTS:
                raise self.bad(f"{n} is {v!r}, must be an integer >= 1")

    def padding(self, pad: ir.Padding) -> None:
        for n in ("top", "bottom", "left", "right"):
            v = getattr(pad, n)
            if not isinstance(v, (int, np.integer)) or not 0 <= v <= MAX_PAD:
                raise self.bad(f"padding.{n} is {v!r}, must be an integer in [0, {MAX_PAD}]")

    def window_out(self, size: int, k: int, stride: int, dilation: int, before: int, after: int) -> int:
        """Output length of a window sliding over `size` padded by `before` and `after`."""
        eff = (k - 1) * dilation + 1
        padded = size + before + after
        if k < 1 or eff > padded:
            raise self.bad(f"window {k} (dilation {dilation}) is larger than the padded input {padded}")
        if eff > MAX_ELEMENTS or padded > MAX_ELEMENTS:
            raise self.bad("window arithmetic overflows int32")
        return (padded - eff) // stride + 1


# ---- checks every op kind runs before its own ----------------------------------------------------


def check_one_output(c: CheckContext) -> None:
    """the op has exactly one output (none for an op that only updates a variable input; a kind with
    several outputs has exactly that many)"""
    from tinygen.ops.spec import spec_for

    if not c.op.outputs and any(t is not None and t.variable for t in c.ins):
        return
    expected = spec_for(c.op.kind).outputs
    if len(c.op.outputs) != expected:
        raise c.bad(f"has {len(c.op.outputs)} outputs, expected {expected}")


def check_activation_input(c: CheckContext) -> None:
    """input 0 is an activation (model input or layer output), not a constant, for kernels that read it
    from the arena"""
    from tinygen.ops.spec import spec_for

    op = c.op
    if spec_for(op.kind).activation_input and op.inputs and op.inputs[0] is not None and c.ins[0].is_const:
        raise c.unsupported(f"input 0 '{op.inputs[0]}' is a constant; the kernels read it from the arena "
                            f"(fold constant-only layers before compiling)")


def check_input_count(c: CheckContext) -> None:
    """the op has as many inputs as its kind takes, the required ones present"""
    from tinygen.ops.spec import spec_for

    n_min, n_max = spec_for(c.op.kind).inputs
    if not n_min <= len(c.op.inputs) <= n_max:
        raise c.bad(f"has {len(c.op.inputs)} inputs, expected {n_min}..{n_max}")
    for k in range(n_min):
        if c.op.inputs[k] is None:
            raise c.bad(f"input {k} is missing")


COMMON_CHECKS = (check_one_output, check_activation_input, check_input_count)


def check_same_shape(c: CheckContext) -> None:
    """the output has the input's shape"""
    c.out_is(c.ins[0].shape)
