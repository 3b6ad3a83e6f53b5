"""Patch-based execution (tinygen/memory/patch.py): band geometry, the expanded op list, the choice.

The geometry is checked on its own against a whole-image row window (any kernel, stride, dilation,
padding); the expanded VWW / person_detect op lists against the planner's invariants; the generated C
keeps one copy of each layer's weights. C results against TFLM are in tests/e2e/test_patch_banded.py.
"""
from __future__ import annotations

import numpy as np
import pytest

from tinygen.codegen import model as codegen
from tinygen.compiler import load_model, lower
from tinygen.memory import patch
from tinygen.memory import plan as planner
from tinygen.memory import cost, schedule, views
from tinygen.options import CompileOptions, OptionError
from oracle import INT8_MODELS


def _rows_conv(x, g, pad, out_h):
    """out[y] = sum over taps of x[y*stride - pad + k*dilation] (rows outside x count 0), times 1 + k."""
    out = np.zeros(out_h, np.int64)
    for y in range(out_h):
        for k in range(g.kernel):
            r = y * g.stride - pad + k * g.dilation
            if 0 <= r < len(x):
                out[y] += (1 + k) * x[r]
    return out


@pytest.mark.parametrize("seed", range(40))
def test_bands_reproduce_the_whole_image(seed):
    rng = np.random.default_rng(seed)
    height = int(rng.integers(6, 40))
    geoms = []
    h = height
    for _ in range(int(rng.integers(1, 5))):
        k, s, d = int(rng.choice([1, 3, 5])), int(rng.choice([1, 2])), int(rng.choice([1, 1, 2]))
        pad = int(rng.integers(0, (k - 1) * d + 1))
        out_h = (h + pad + int(rng.integers(0, (k - 1) * d + 1)) - ((k - 1) * d + 1)) // s + 1
        if out_h < 1:
            break
        geoms.append(patch.Geom(k, s, d, pad, h, out_h))
        h = out_h
    if not geoms:
        return
    x = rng.integers(-50, 50, height)
    whole = x
    for g in geoms:
        whole = _rows_conv(whole, g, g.pad, g.out_h)
    for bands in (1, 2, 3, 5, geoms[-1].out_h):
        got = np.zeros_like(whole)
        for a, z in patch.splits(geoms[-1].out_h, bands):
            rr = patch.rows(geoms, a, z)
            band = x[rr[0][0]:rr[0][1]]
            for g, (r0, r1, pad, o0, o1) in zip(geoms, rr):
                assert len(band) == r1 - r0
                band = _rows_conv(band, g, pad, o1 - o0)
            got[a:z] = band
        np.testing.assert_array_equal(got, whole)


def test_splits_cover_the_rows():
    assert patch.splits(10, 3) == [(0, 3), (3, 6), (6, 10)]
    assert patch.splits(2, 4) == [(0, 1), (1, 2)]


def _optimized(key, models_dir, io=False):
    graph = load_model(models_dir / INT8_MODELS[key])
    return schedule.optimize(graph, lower(graph), io)


@pytest.mark.parametrize("key", ["vww", "person_detect"])
def test_the_chain_starts_at_the_input(key, models_dir):
    graph, lowered = _optimized(key, models_dir)
    ops = patch.chain(graph, lowered)
    assert ops[:8] == list(range(8))
    assert patch._io(lowered[0])[0] == graph.inputs[0]


def test_no_chain_when_another_layer_reads_the_input(models_dir):
    """Bands may write over the input's rows (overlay): a second reader of the input stops the chain."""
    import dataclasses

    graph, lowered = _optimized("vww", models_dir)
    extra = dataclasses.replace(lowered[0], op=dataclasses.replace(lowered[0].op, name="second reader"))
    assert patch.chain(graph, lowered + [extra]) == []


@pytest.mark.parametrize("io", [False, True])
def test_expanded_ops_plan_and_share_weights(io, models_dir):
    graph, lowered = _optimized("vww", models_dir, io)
    ops = list(range(8))
    for overlay in ([False, True] if io else [False]):
        if overlay and not patch.overlay_fits(graph, lowered, ops, 4):
            continue
        g2, l2 = patch.expand(graph, lowered, ops, 4, overlay)
        p = planner.plan(g2, l2, exact=False, io_in_arena=io)
        planner.check(p.buffers)
        wanted = {i for i, lop in enumerate(l2) if lop.view_of is not None}
        assert wanted <= set(views.honoured(g2, l2)) and wanted
        assert len(l2) == len(lowered) - 8 + 4 * (8 + 2) + (1 if overlay else 0)
        assert sum(lop.macs for lop in l2) > sum(lop.macs for lop in lowered)
        files = codegen.render(g2, l2, p, name="v", stem="v")
        base = codegen.render(graph, lowered, planner.plan(graph, lowered, exact=False, io_in_arena=io),
                              name="v", stem="v")
        assert files["v.c"].count("static const") == base["v.c"].count("static const")  # weights once
        assert files["v.c"].count("tg_depthwise_conv2d_s8_fast(") > base["v.c"].count("tg_depthwise_conv2d_s8_fast(")


def test_choose_keeps_layer_by_layer_unless_the_budget_needs_bands(models_dir):
    graph, lowered = _optimized("vww", models_dir)
    base = planner.plan(graph, lowered, exact=False).arena_bytes
    for budget in (None, base, base + 1000):
        g2, l2, choice = patch.choose(graph, lowered, budget)
        assert choice is None and l2 is lowered
    g2, l2, choice = patch.choose(graph, lowered, 36864)
    assert choice is not None and choice.arena_bytes <= 36864 and 0 < choice.extra <= patch.DEFAULT_LIMIT
    assert planner.plan(g2, l2, exact=False).arena_bytes == choice.arena_bytes
    found = patch.options(graph, lowered)  # what choose picks from: evaluated once for the budgets below
    assert patch.pick(graph, lowered, found, 36864)[2] == choice
    tighter = choice.arena_bytes - 1  # below the first choice: more bands, more recomputation
    g3, l3, tight = patch.pick(graph, lowered, found, tighter)
    assert tight.arena_bytes <= tighter and tight.extra <= 0.10 and tight.extra > choice.extra
    base_insns = cost.instructions(graph, lowered)
    raw = cost.instructions(g3, l3) - base_insns
    assert tight.insns - tight.base_insns == round(raw * cost.PATCH_OVERHEAD) > raw > 0  # measured overhead
    assert patch.choose(graph, lowered, tighter, limit=0.0)[2] is None  # no recomputation allowed
    # the smallest within the limit: layers 0-3 in bands, the layers after them rewritten in place once the
    # bands have moved the peak there (19,968 B); a budget below it is out of reach within +10%
    _, l4, smallest = patch.pick(graph, lowered, found, 1)
    assert smallest.arena_bytes <= tight.arena_bytes and smallest.extra <= 0.10
    after = len(lowered) - len(smallest.ops)  # the layers after the chain: some kernels rewritten
    assert any(a is not b for a, b in zip(l4[-after:], lowered[-after:]))
    assert patch.pick(graph, lowered, found, smallest.arena_bytes - 16)[2].arena_bytes > smallest.arena_bytes - 16
    s = patch.summary(tight)
    assert s["extra_macs"] == tight.macs - tight.base_macs and s["bands"] == tight.bands


def test_patch_limit_option():
    with pytest.raises(OptionError, match="patch_limit"):
        CompileOptions.make(patch_limit=-0.1)
    with pytest.raises(OptionError, match="patch_limit"):
        CompileOptions.make(patch_limit="lots")
    assert CompileOptions.make(patch_limit=0.25).patch_limit == 0.25
