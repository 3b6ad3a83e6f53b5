"""Automatic per-layer weight schemes under a flash budget (`--mixed auto --budget-flash BYTES`).

1. Cost: for every weighted layer and candidate scheme, the exact bytes its lowered kernel keeps in
   flash (packed weights, codebook, multipliers, shifts and bias), from lowering that one layer.
2. Sensitivity: for every layer and scheme, the float network is run on the calibration data with
   only that layer's weights replaced by the scheme's dequantized weights; the error is the mean
   squared difference of the model outputs from the float outputs (the weight error one layer adds).
3. RAM (with `budget_ram`): a low-bit kernel may need arena scratch to unpack weights, or have no
   in-place variant where the int8 kernel has one. For every layer and scheme, the int8 model with
   only that layer at that scheme is lowered, scheduled and planned; schemes whose arena exceeds the
   budget are left out, and the largest arena among the chosen ones is the predicted arena.
4. Choice: minimise the sum of the layers' errors subject to the sum of their bytes fitting the
   budget, a multiple-choice knapsack solved exactly by dynamic programming over byte counts
   (rounded up to `grain` bytes, so a found solution always fits).
The quantized model built with the chosen table is then measured end to end; its error and the
table go into the build report.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from tinygen.console import progress
from tinygen.quant import float_ref
from tinygen.options import OptionError
from tinygen.ir import Graph
from tinygen.quant import schemes as sch
from tinygen.quant import weights as wq

CANDIDATES = ("int8", "int8c", "int4", "kmeans4", "kmeans3", "kmeans2", "ternary", "binary")
_SAMPLES = 64


@dataclasses.dataclass
class Choice:
    table: dict  # layer -> scheme
    costs: dict  # layer -> {scheme: bytes}
    errors: dict  # layer -> {scheme: output MSE with only this layer at this scheme}
    fixed_bytes: int  # flash of the layers without weights (and anything a scheme does not change)
    predicted_bytes: int
    budget: int
    int8_bytes: int = 0  # constant data of the uniform int8 model
    int8_arena: int = 0  # arena of the uniform int8 model (its plan)
    predicted_arena: int = None  # with budget_ram: the largest one-layer-changed arena of the choice


def _dequantized_weights(fgraph: Graph, op, scheme: str, in_scale: float) -> np.ndarray:
    axis = sch.WEIGHT_AXIS[op.kind]
    w = fgraph.tensors[op.inputs[1]].data.astype(np.float64)
    floor = None
    if len(op.inputs) > 2 and op.inputs[2] is not None:
        floor = np.abs(fgraph.tensors[op.inputs[2]].data.astype(np.float64)) / (in_scale * float(1 << 30))
    res = wq.quantize(w, axis, scheme, min_scale=floor)
    shape = [1] * w.ndim
    shape[axis] = -1
    return (res.values.astype(np.float64) * res.scales.reshape(shape)).astype(np.float32)


def sensitivities(fgraph: Graph, q8: Graph, calib: list, candidates=CANDIDATES) -> dict:
    """{layer: {scheme: output MSE vs float}} with one layer's weights quantized at a time."""
    xs = [c[:_SAMPLES] for c in calib]
    want = float_ref.run_batch(fgraph, xs)
    out = {}
    layers = sch.weighted_layers(fgraph)
    for k, op in enumerate(layers):
        progress("--mixed: error of each layer's schemes", k, len(layers))
        in_scale = float(q8.tensors[op.inputs[0]].scale)
        w_name = op.inputs[1]
        row = {}
        for s in candidates:
            g = fgraph.copy()
            g.tensors[w_name] = dataclasses.replace(g.tensors[w_name],
                                                    data=_dequantized_weights(fgraph, op, s, in_scale))
            got = float_ref.run_batch(g, xs)
            row[s] = float(np.mean([np.mean((a.astype(np.float64) - b) ** 2) for a, b in zip(got, want)]))
        out[op.name] = row
    return out


def layer_costs(fgraph: Graph, q8: Graph, candidates=CANDIDATES) -> tuple:
    """({layer: {scheme: flash bytes}}, bytes of all other layers) from lowering each layer alone."""
    from tinygen.lower.base import lower_op

    costs = {}
    layers = sch.weighted_layers(q8)
    names = {op.name for op in layers}
    for k, s in enumerate(candidates):
        progress("--mixed: bytes of each scheme", k, len(candidates))
        qs = q8.copy()
        if s != "int8":
            sch.apply(fgraph, qs, {name: s for name in names})
        for op in sch.weighted_layers(qs):
            costs.setdefault(op.name, {})[s] = lower_op(op, qs).weight_bytes
    fixed = sum(lower_op(op, q8).weight_bytes for op in q8.ops if op.name not in names)
    return costs, fixed


def knapsack(costs: dict, errors: dict, budget: int, grain: int = 0) -> dict:
    """Exact multiple-choice knapsack: one scheme per layer, sum(bytes) <= budget, least sum(error)."""
    layers = list(costs)
    if not layers:
        return {}
    cheapest = sum(min(costs[n].values()) for n in layers)
    if cheapest > budget:
        raise OptionError(f"{{budget_flash}} {budget:,} B: even the smallest scheme for every layer needs "
                           f"{cheapest:,} B of weights")
    grain = grain or max(1, -(-budget // 20000))
    cap = budget // grain
    inf = np.inf
    best = np.full(cap + 1, inf)
    best[0] = 0.0
    picks = []
    for n in layers:
        opts = sorted(costs[n])
        new = np.full(cap + 1, inf)
        arg = np.full(cap + 1, -1, dtype=np.int64)
        for k, s in enumerate(opts):
            units = -(-costs[n][s] // grain)  # rounded up: the true total never exceeds the budget
            if units > cap:
                continue
            cand = np.full(cap + 1, inf)
            cand[units:] = best[:cap + 1 - units] + errors[n][s]
            better = cand < new
            new[better] = cand[better]
            arg[better] = k
        picks.append((opts, arg))
        best = new
    if not np.isfinite(best).any():
        raise OptionError(f"{{budget_flash}} {budget:,} B is too small for these layers at {grain} B granularity")
    # best[u]: least error using exactly u units; picks[i][1][u]: the option that reached u at layer i
    u = int(np.argmin(best))
    table = {}
    for n, (opts, arg) in zip(reversed(layers), reversed(picks)):
        k = int(arg[u])
        table[n] = opts[k]
        u -= -(-costs[n][opts[k]] // grain)
    assert u == 0
    return {n: table[n] for n in layers}


def arena_bytes(q: Graph) -> int:
    """The arena of a quantized graph, as the build plans it (lower, schedule, plan)."""
    from tinygen.lower.base import lower_op
    from tinygen.memory import plan as planner
    from tinygen.memory import schedule

    g = q.copy()
    graph, lowered = schedule.optimize(g, [lower_op(op, g) for op in g.ops])
    return int(planner.plan(graph, lowered).arena_bytes)


def layer_arenas(fgraph: Graph, q8: Graph, costs: dict, base: int) -> dict:
    """{layer: {scheme: arena bytes of the int8 model with only that layer at that scheme}}."""
    out: dict = {}
    total, k = sum(len(row) for row in costs.values()), 0
    for n, row in costs.items():
        for s in row:
            progress("--mixed: arena of each scheme", k, total)
            k += 1
            g = q8.copy()
            if s != "int8":
                sch.apply(fgraph, g, {n: s})
            out.setdefault(n, {})[s] = base if s == "int8" else arena_bytes(g)
    return out


def _ram_options(costs: dict, ram: dict, budget_ram: int) -> dict:
    """The schemes whose arena fits budget_ram, per layer; refuses a layer with none."""
    kept = {n: {s: b for s, b in row.items() if ram[n][s] <= budget_ram} for n, row in costs.items()}
    for n, row in kept.items():
        if not row:
            need = min(ram[n].values())
            raise OptionError(f"{{budget_ram}} {budget_ram:,} B: with layer '{n}' at any weight scheme the arena "
                              f"needs at least {need:,} B")
    return kept


def choose(fgraph: Graph, q8: Graph, calib: list, budget_flash: int, candidates=CANDIDATES,
           budget_ram: int = None) -> Choice:
    """Pick a scheme per weighted layer so the model's constant data fits `budget_flash` bytes (and, when
    `budget_ram` is given, each chosen scheme keeps the planned arena within it)."""
    costs, fixed = layer_costs(fgraph, q8, candidates)
    base_arena = arena_bytes(q8)
    ram = layer_arenas(fgraph, q8, costs, base_arena) if budget_ram is not None else None
    errors = sensitivities(fgraph, q8, calib, candidates)
    for row in errors.values():  # same values as int8: prefer int8's faster storage when it fits
        if "int8c" in row and "int8" in row:
            row["int8c"] = row["int8"] + 1e-9 * max(row["int8"], 1e-12)
    allowed = costs if ram is None else _ram_options(costs, ram, budget_ram)
    least = fixed + sum(min(row.values()) for row in allowed.values())
    if ram is not None and least > budget_flash:
        raise OptionError(f"{{budget_flash}} {budget_flash:,} B with {{budget_ram}} {budget_ram:,} B: the schemes "
                          f"whose arena fits need at least {least:,} B of constants")
    table = knapsack(allowed, errors, budget_flash - fixed)
    predicted = fixed + sum(costs[n][s] for n, s in table.items())
    arena = max([base_arena] + [ram[n][s] for n, s in table.items()]) if ram is not None else None
    return Choice(table, costs, errors, fixed, predicted, budget_flash,
                  int8_bytes=fixed + sum(row.get("int8", 0) for row in costs.values()),
                  int8_arena=base_arena, predicted_arena=arena)
