"""Estimated instructions of lowered ops, for memory decisions that trade speed for RAM.

The figures are those of codegen/estimate.py (per kernel: instructions per MAC plus per output
element, or per input + output element, measured under QEMU on the generic Cortex-M4 board), so the
memory stage can weigh an arena saving against the instructions it adds without building anything.
"""
from __future__ import annotations

import functools

from tinygen.ir import Graph

CORE = "cortex-m4"  # the core whose kernel costs the memory stage weighs


@functools.lru_cache(maxsize=None)
def _table():
    from tinygen.codegen.estimate import core_table

    return core_table(CORE)


def op_instructions(lop, graph: Graph) -> int:
    """Estimated instructions of one lowered op (0 for a view or an alias: no call)."""
    from tinygen.codegen.estimate import layer_instructions

    table = _table()
    if table is None or not lop.c_function or lop.alias_of is not None:
        return 0
    layer = dict(kernel=lop.c_function, macs=int(lop.macs),
                 inputs=[graph.tensors[t].shape for t in lop.op.inputs
                         if t is not None and not graph.tensors[t].is_const],
                 outputs=[graph.tensors[t].shape for t in lop.op.outputs])
    return layer_instructions(layer, table)[0]


def instructions(graph: Graph, lowered: list) -> int:
    """Estimated instructions of a whole op list."""
    return int(sum(op_instructions(lop, graph) for lop in lowered))
