"""The contract between lowering, the NumPy reference, codegen and the C kernels.

Each kernel module registers a `Kernel` for the op kinds (and dtypes) it handles. `Kernel.lower`
turns one quantized IR op into a `LoweredOp`: every constant the C kernel needs is precomputed here
(multipliers, shifts, offsets, clamp bounds, re-laid-out weights), the C call is described as a list
of arguments, and `reference` computes the same op in NumPy from the same precomputed values.
Codegen only prints what a LoweredOp says; templates hold no arithmetic and no kernel choice.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Union

import numpy as np

from tinygen.errors import UnsupportedError
from tinygen.ir import Graph, Op

# ---- C call arguments --------------------------------------------------------------------------


@dataclass(frozen=True)
class TensorArg:
    """Pointer to an activation tensor (arena, model input or model output)."""
    tensor: str
    const: bool = True  # `const int8_t *` (input) or writable (output)


@dataclass(frozen=True)
class ConstArg:
    """Pointer to a constant array emitted as `static const` in model.c (index into const_arrays)."""
    index: int


@dataclass(frozen=True)
class ScratchArg:
    """Pointer to this op's scratch buffer in the arena (scratch_bytes long)."""


@dataclass(frozen=True)
class Literal:
    """An integer literal (emitted with a cast-free C99 spelling) or a C expression string."""
    value: Union[int, str]


CArg = Union[TensorArg, ConstArg, ScratchArg, Literal]


@dataclass
class ConstArray:
    suffix: str  # e.g. "w", "bias", "mult"; the array is named <model>_<layer>_<suffix>
    data: np.ndarray  # int8 / int16 / int32 / int64 / uint8; emitted with its own C type


@dataclass
class LoweredOp:
    op: Op
    c_function: str  # e.g. "tg_conv2d_s8"
    c_sources: tuple  # runtime_c files this call needs, e.g. ("tg_conv2d_s8.c",)
    args: list  # CArg list, in C argument order
    const_arrays: list  # ConstArray list referenced by ConstArg(index)
    reference: Callable  # (list of input arrays, non-const inputs only, in op order) -> list of outputs
    macs: int = 0
    scratch_bytes: int = 0
    alias_of: Optional[str] = None  # output shares the storage of this input (RESHAPE): no call emitted
    view_of: Optional[tuple] = None  # (input, byte offset): the output is that contiguous block of the input;
    # where the planner honours it (memory/views.py) the output is stored there and no call is emitted
    inplace_of: Optional[str] = None  # the call may write its output over this input (the planner ties them)
    pointwise: bool = False  # a 1x1, stride-1, unpadded CONV_2D run as one GEMM (in-place 1x1 applies)
    weight_shift: int = 0  # ternary / binary weights run as 0 and +-2^k (lowbit_x.weight_shift): the .tflite export
    # writes those values, with the bias times 2^k and the filter scales over 2^k
    notes: dict = field(default_factory=dict)  # facts for people (reports, debugging); no stage reads them

    @property
    def weight_bytes(self) -> int:
        return int(sum(a.data.nbytes for a in self.const_arrays))


class Kernel:
    """A lowering rule: `supports` decides, `lower` precomputes. Subclasses set `kinds`."""

    kinds: tuple = ()

    def supports(self, op: Op, graph: Graph) -> bool:
        return True

    def lower(self, op: Op, graph: Graph) -> LoweredOp:  # pragma: no cover - abstract
        raise NotImplementedError


_REGISTRY: dict = {}


def register(kernel: Kernel) -> Kernel:
    for kind in kernel.kinds:
        _REGISTRY.setdefault(kind, []).append(kernel)
    return kernel


def choose(op: Op, graph: Graph) -> Kernel:
    """The first registered kernel that supports the op (a lowering rule, not template logic)."""
    from tinygen.lower import load_all

    load_all()
    for kernel in _REGISTRY.get(op.kind, []):
        if kernel.supports(op, graph):
            return kernel
    dtypes = ", ".join(graph.tensors[t].dtype for t in op.inputs if t is not None)
    raise UnsupportedError(
        f"layer '{op.name}': op {op.kind.value} with input types ({dtypes}) is not supported by tinygen")


def lower_op(op: Op, graph: Graph) -> LoweredOp:
    """Lower `op` with the first kernel that supports it; the call is checked against the C prototype."""
    from tinygen.lower.csig import check_call

    lop = choose(op, graph).lower(op, graph)
    if lop.c_function:
        check_call(lop)
    return lop


def activation_inputs(op: Op, graph: Graph) -> list:
    """Names of the op's non-constant inputs, in order (what `reference` receives)."""
    return [t for t in op.inputs if t is not None and not graph.tensors[t].is_const]
