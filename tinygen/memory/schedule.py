"""Operator order for branching graphs, and the memory stage that runs before arena planning.

`reorder` searches the topological orders of the graph for the one with the smallest live-set peak
(exact dynamic programming over the sets of executed ops, which stay few for the residual and
multi-branch graphs tinygen sees; a state budget falls back to the given order). `optimize` is the
stage the compiler calls: reorder, then swap in in-place kernel variants where they lower the peak, then
(`trim_scratch`) lower an op whose scratch sits on the peak with a smaller-scratch kernel where that
lowers the arena. A new order is only taken when it strictly lowers the planned arena, so chains keep
their order.
"""
from __future__ import annotations

import dataclasses

from tinygen.memory import plan as planner
from tinygen.ir import Graph

STATE_BUDGET = 200000


def _model(graph: Graph, lowered: list) -> tuple:
    """Per op: (arena roots read, arena roots written, scratch bytes); root sizes; readers per root."""
    buffers, storage = planner.liveness(graph, lowered)
    sizes = {b.name: planner.align(b.size) for b in buffers if not b.is_scratch}
    root = planner._alias_roots(graph, lowered)
    uses, defs, scratch = [], [], []
    for lop in lowered:
        uses.append(frozenset(root[t] for t in lop.op.inputs if t is not None and root.get(t) in sizes))
        defs.append(frozenset(root[t] for t in lop.op.outputs if root.get(t) in sizes))
        scratch.append(planner.align(lop.scratch_bytes) if lop.scratch_bytes > 0 else 0)
    readers: dict = {}
    for i, u in enumerate(uses):
        for r in u:
            readers.setdefault(r, set()).add(i)
    return uses, defs, scratch, sizes, readers


def _deps(graph: Graph, lowered: list) -> list:
    """For each op, the ops that must run before it (producers of what it reads, alias chains included)."""
    producer = {}
    for i, lop in enumerate(lowered):
        for t in lop.op.outputs:
            producer[t] = i
    deps = []
    for lop in lowered:
        deps.append({producer[t] for t in lop.op.inputs if t is not None and t in producer})
    from tinygen.memory import state

    for mine, order in zip(deps, state.order_deps(graph, lowered, planner._alias_roots(graph, lowered))):
        mine |= order  # ops touching the same variable keep their order
    return deps


def order_peak(order: list, uses: list, defs: list, scratch: list, sizes: dict, readers: dict) -> int:
    """Live-set peak of running the ops in `order` (tensor bytes aligned, scratch included)."""
    done: set = set()
    live: set = set()
    peak = 0
    for o in order:
        step = sum(sizes[r] for r in live | defs[o] | uses[o]) + scratch[o]
        peak = max(peak, step)
        done.add(o)
        live |= defs[o]
        live = {r for r in live if not readers.get(r, set()) <= done}
    return peak


def best_order(graph: Graph, lowered: list):
    """(order, peak) minimizing the live-set peak over topological orders, or None past the budget."""
    n = len(lowered)
    uses, defs, scratch, sizes, readers = _model(graph, lowered)
    deps = _deps(graph, lowered)
    dep_mask = [sum(1 << d for d in ds) for ds in deps]
    reader_mask = {r: sum(1 << i for i in rs) for r, rs in readers.items()}
    produced_by: dict = {}
    for i, d in enumerate(defs):
        for r in d:
            produced_by.setdefault(r, 0)
            produced_by[r] |= 1 << i
    full = (1 << n) - 1
    memo: dict = {}

    def live_bytes(state: int) -> int:
        total = 0
        for r, pm in produced_by.items():
            if pm & state and (reader_mask.get(r, 0) & ~state):
                total += sizes[r]
        return total

    def solve(state: int):
        if state == full:
            return 0, -1
        hit = memo.get(state)
        if hit is not None:
            return hit
        if len(memo) > STATE_BUDGET:
            raise _Budget
        base = live_bytes(state)
        best = None
        for o in range(n):
            if state >> o & 1 or (dep_mask[o] & ~state):
                continue
            extra = sum(sizes[r] for r in (defs[o] | uses[o])
                        if not (produced_by.get(r, 0) & state and reader_mask.get(r, 0) & ~state))
            step = base + extra + scratch[o]
            if best is not None and step >= best[0]:
                continue
            rest, _ = solve(state | 1 << o)
            cost = max(step, rest)
            if best is None or cost < best[0]:
                best = (cost, o)
        memo[state] = best
        return best

    try:
        peak, _ = solve(0)
    except (_Budget, RecursionError):
        return None
    order, state = [], 0
    while state != full:
        o = memo[state][1]
        order.append(o)
        state |= 1 << o
    return order, peak


class _Budget(Exception):
    pass


def permute(graph: Graph, lowered: list, order: list) -> tuple:
    """The graph and lowered list with ops in `order` (same op objects, new lists)."""
    g = dataclasses.replace(graph, ops=[graph.ops[i] for i in order])
    return g, [lowered[i] for i in order]


def reorder(graph: Graph, lowered: list) -> tuple:
    """(graph, lowered) in the order with the smallest live-set peak, when that lowers the arena."""
    if len(lowered) < 3:
        return graph, lowered
    found = best_order(graph, lowered)
    if found is None:
        return graph, lowered
    order, peak = found
    if order == list(range(len(lowered))):
        return graph, lowered
    uses, defs, scratch, sizes, readers = _model(graph, lowered)
    if peak >= order_peak(list(range(len(lowered))), uses, defs, scratch, sizes, readers):
        return graph, lowered
    g2, l2 = permute(graph, lowered, order)
    if planner.plan(g2, l2, exact=False).arena_bytes < planner.plan(graph, lowered, exact=False).arena_bytes:
        return g2, l2
    return graph, lowered


def _smaller_scratch(lop, graph: Graph) -> list:
    """Other registered lowerings of the op that need less scratch, in registry (preference) order."""
    from tinygen.lower.base import _REGISTRY

    out = []
    for kernel in _REGISTRY.get(lop.op.kind, []):
        if not kernel.supports(lop.op, graph):
            continue
        alt = kernel.lower(lop.op, graph)
        if alt.scratch_bytes < lop.scratch_bytes:
            out.append(alt)
    return out


def trim_scratch(graph: Graph, lowered: list) -> list:
    """While an op's scratch is live at the arena's live-set peak, try its smaller-scratch lowerings
    (e.g. the portable kernel instead of im2col) and keep the first that lowers the planned arena by at
    least the fraction of the model's estimated instructions it adds (memory/cost.py): a few bytes are
    not worth a slower kernel."""
    from tinygen.memory import cost

    current = list(lowered)
    arena = planner.plan(graph, current, exact=False).arena_bytes
    total = max(cost.instructions(graph, current), 1)
    tried: set = set()
    while True:
        buffers, _ = planner.liveness(graph, current)
        prof = planner.live_profile(buffers)
        peak = max(prof, default=0)
        on_peak = [i for i, lop in enumerate(current)
                   if lop.scratch_bytes > 0 and i < len(prof) and prof[i] == peak and i not in tried]
        if not on_peak:
            return _trim_together(graph, current, arena, total, [i for i in tried if prof[i] == peak])
        i = max(on_peak, key=lambda j: current[j].scratch_bytes)
        tried.add(i)
        for alt in _smaller_scratch(current[i], graph):
            trial = current[:i] + [alt] + current[i + 1:]
            a = planner.plan(graph, trial, exact=False).arena_bytes
            slower = cost.op_instructions(alt, graph) - cost.op_instructions(current[i], graph)
            if a < arena and slower / total <= (arena - a) / arena:
                current, arena = trial, a
                tried.discard(i)
                break


def _trim_together(graph: Graph, lowered: list, arena: int, total: int, peak_ops: list) -> list:
    """Several ops whose scratch sits on the same peak: no single swap lowers the arena, all of them
    together may. Each takes its cheapest smaller-scratch lowering; kept on the same terms as one swap.
    Only with the model's I/O in the arena, whose output buffer, live to the end, lifts the last layers'
    steps to one shared peak (the default build keeps the single swaps it always made)."""
    from tinygen.memory import cost

    if len(peak_ops) < 2 or not planner._io_flag(None):
        return lowered
    trial = list(lowered)
    for i in peak_ops:
        alts = _smaller_scratch(lowered[i], graph)
        if not alts:
            return lowered
        trial[i] = min(alts, key=lambda alt: cost.op_instructions(alt, graph))
    a = planner.plan(graph, trial, exact=False).arena_bytes
    slower = cost.instructions(graph, trial) - cost.instructions(graph, lowered)
    return trial if a < arena and slower / total <= (arena - a) / arena else lowered


def optimize(graph: Graph, lowered: list, io_in_arena: bool = False) -> tuple:
    """The memory stage: returns (graph, lowered) to plan and render (the inputs are not modified).

    `io_in_arena`: every plan made on the way places the model's inputs and outputs in the arena."""
    from tinygen.lower import inplace

    with planner.io_in_arena(io_in_arena):
        graph, lowered = reorder(graph, lowered)
        lowered = inplace.rewrite(graph, lowered)
        return graph, trim_scratch(graph, lowered)
