"""The memory stage as the compiler runs it: lower, order and rewrite in place (schedule.py), band the first
layers when `budget_ram` asks for it (patch.py), plan the arena (plan.py).

Low-bit layers decode their filter once per call into the arena by default (lower/lowbit_x.py: int8 speed,
a larger arena). When the plan is over `budget_ram`, the stage lowers them again with the packed kernels,
which decode as they go and need only a small scratch, and keeps that plan if it is smaller: under a RAM
budget the arena wins over speed.
"""
from __future__ import annotations

from typing import Optional

from tinygen import ir
from tinygen.lower import lowbit_x
from tinygen.lower.base import lower_op
from tinygen.memory import patch, schedule
from tinygen.memory import plan as planner


def _run(graph: ir.Graph, budget_ram: Optional[int], patch_limit: float, io_in_arena: bool) -> tuple:
    lowered = [lower_op(op, graph) for op in graph.ops]
    graph, lowered = schedule.optimize(graph, lowered, io_in_arena)  # operator order and in-place variants
    graph, lowered, banded = patch.choose(graph, lowered, budget_ram, patch_limit, io_in_arena)
    return graph, lowered, banded, planner.plan(graph, lowered, io_in_arena=io_in_arena)


def run(graph: ir.Graph, budget_ram: Optional[int], patch_limit: float, io_in_arena: bool) -> tuple:
    """(graph, lowered, banding or None, arena plan)."""
    got = _run(graph, budget_ram, patch_limit, io_in_arena)
    decoded = any("decoded" in lop.notes for lop in got[1])
    if budget_ram is None or got[3].arena_bytes <= budget_ram or not decoded:
        return got
    with lowbit_x.packed():
        alt = _run(graph, budget_ram, patch_limit, io_in_arena)
    return alt if alt[3].arena_bytes < got[3].arena_bytes else got
