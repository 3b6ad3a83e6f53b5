"""The byte-level proof of a plan (memory/bytecheck.py) and the input group that shrinks as its members
die (memory/shrink.py): the chain output of banded execution written over the model input's consumed
rows is proven safe, the same plan without the band-order constraint (patch.overlay_fits) is refused, and
plans with a buffer moved onto live bytes, a scratch over an operand or an undeclared in-place write
are refused."""
from __future__ import annotations

import dataclasses

import pytest

from tinygen.compiler import load_model, lower
from tinygen.errors import TinygenError
from tinygen.memory import bytecheck, patch, schedule, shrink
from tinygen.memory import plan as planner
from tinygen.memory.plan import Buffer
from oracle import INT8_MODELS


def _optimized(key, models_dir, io):
    graph = load_model(models_dir / INT8_MODELS[key])
    return schedule.optimize(graph, lower(graph), io)


def _recheck(graph, lowered, p, storage=None):
    bytecheck.check(graph, lowered, storage or p.storage, p.scratch, p.arena_bytes)


def test_chain_output_over_the_consumed_input_is_proven_and_frees_the_rows(models_dir):
    graph, lowered = _optimized("vww", models_dir, True)
    ops = list(range(4))
    assert patch.overlay_fits(graph, lowered, ops, 6)
    g2, l2 = patch.expand(graph, lowered, ops, 6, overlay=True)
    p = planner.plan(g2, l2, io_in_arena=True)  # runs the byte check
    x, y = graph.inputs[0], patch._io(lowered[3])[1]
    assert p.storage[x] == p.storage[y]
    by_tensor = {t: b for b in p.buffers for t in b.tensors}
    assert by_tensor[x].tie == by_tensor[y].tie is not None and by_tensor[x].last < by_tensor[y].last
    # the input's 27,648 bytes are not held past the last band: the arena is below input + layer 4's
    # input and output (9,216 + 18,432), which a whole input group would force
    assert p.arena_bytes < graph.tensors[x].nbytes + 18432
    whole = dataclasses.replace(p, storage=dict(p.storage))
    _recheck(g2, l2, whole)


def test_overlay_without_its_band_order_constraint_is_refused(models_dir):
    """person_detect's 1-channel input: band b's output rows reach past the first input row band b + 1
    reads (overlay_fits says no); forced anyway, the byte check names the overwritten read."""
    graph, lowered = _optimized("person_detect", models_dir, True)
    ops = list(range(4))
    assert not patch.overlay_fits(graph, lowered, ops, 4)
    got = patch.expand(graph, lowered, ops, 4, overlay=True)
    assert got is not None
    with pytest.raises(TinygenError, match=r"reads '.*@rows1' from bytes '.*@rows0' overwrote"):
        planner.plan(got[0], got[1], io_in_arena=True)
    p = planner.plan(got[0], got[1], exact=False, io_in_arena=True)  # trial plans skip the check
    with pytest.raises(TinygenError, match="overwrote"):
        _recheck(got[0], got[1], p)


def _arena(p, t):
    return t is not None and p.storage.get(t, ("",))[0] == "arena"


def _calls(lowered, p):
    return [i for i, lop in enumerate(lowered) if lop.alias_of is None and i not in p.views]


def _busy_pair(lowered, p):
    """(t, w): op p writes t, a later op reads it, and an op between them writes w (another arena tensor)."""
    calls = _calls(lowered, p)
    producer = {t: i for i in calls for t in lowered[i].op.outputs if _arena(p, t)}
    for i in calls:
        for t in lowered[i].op.inputs:
            if t in producer:
                for j in calls:
                    if producer[t] < j < i:
                        return t, lowered[j].op.outputs[0]
    return None


@pytest.mark.parametrize("io", [False, True])
def test_moving_a_buffer_onto_live_bytes_is_refused(io, models_dir):
    """IC's residual blocks: a tensor is read ops after its writer; an op in between writing over it fails."""
    graph, lowered = _optimized("ic", models_dir, io)
    p = planner.plan(graph, lowered, io_in_arena=io)
    _recheck(graph, lowered, p)
    t, w = _busy_pair(lowered, p)
    moved = dict(p.storage)
    moved[w] = p.storage[t]  # an earlier op's output written over a tensor still to be read
    with pytest.raises(TinygenError, match="arena plan"):
        bytecheck.check(graph, lowered, moved, p.scratch, p.arena_bytes + graph.tensors[w].nbytes)


def test_scratch_over_an_operand_and_undeclared_in_place_are_refused(models_dir):
    graph, lowered = _optimized("kws", models_dir, False)
    p = planner.plan(graph, lowered)
    i = next(k for k, lop in enumerate(lowered) if lop.scratch_bytes > 0 and k in p.scratch
             and any(_arena(p, t) for t in lop.op.inputs))
    x = next(t for t in lowered[i].op.inputs if _arena(p, t))
    with pytest.raises(TinygenError, match="scratch over"):
        bytecheck.check(graph, lowered, p.storage, {**p.scratch, i: p.storage[x][1]}, p.arena_bytes)
    j = next(k for k in _calls(lowered, p) if lowered[k].inplace_of is None
             and all(_arena(p, t) for t in lowered[k].op.inputs[:1] + lowered[k].op.outputs))
    moved = dict(p.storage)
    moved[lowered[j].op.outputs[0]] = p.storage[lowered[j].op.inputs[0]]
    with pytest.raises(TinygenError, match="arena plan"):
        bytecheck.check(graph, lowered, moved, {}, p.arena_bytes * 2)


def test_only_an_input_group_in_the_arena_is_split(models_dir):
    graph, lowered = _optimized("vww", models_dir, False)
    g2, l2 = patch.expand(graph, lowered, list(range(4)), 4)
    assert not any(b.group for b in planner.liveness(g2, l2, False)[0])
    g3, l3 = patch.expand(*_optimized("vww", models_dir, True), list(range(4)), 4)
    groups = [b for b in planner.liveness(g3, l3, True)[0] if b.group]
    assert len(groups) == 4 + 1 and len({b.tie for b in groups}) == 1  # the input and its 4 row views


def test_front_moves_reach_the_bound_a_shrinking_group_allows():
    """A group (48 bytes until op 2, 16 of them until op 5) and three 32-byte layers after it: greedy by
    size puts the group first and the layers above its surviving member (80 bytes); moving the middle
    layer to the front of the order lets it take the group's dead bytes (64, the live-set bound)."""
    spec = [("g_in", 48, 0, 2, "g"), ("g_out", 16, 0, 5, "g"), ("band", 16, 1, 2, None),
            ("l4", 32, 5, 6, None), ("l5", 32, 6, 7, None), ("l6", 32, 7, 8, None)]
    bufs = [Buffer(n, s, f, last, tie=t) for n, s, f, last, t in spec]
    blocks = planner.blocks_of(bufs)
    conflicts = planner._conflicts(blocks)
    order = planner._orders(blocks, conflicts)["greedy-by-size"]
    height = planner._height(blocks, planner._greedy(blocks, conflicts, order))
    assert height == 80 and planner.lower_bound(bufs) == 64
    better = shrink.front_moves(blocks, conflicts, order, height, 64)
    assert planner._height(blocks, better) == 64
    assert planner.place(bufs, exact=False)[0] == 64
    planner.check(bufs)
