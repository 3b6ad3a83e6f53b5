"""Arena buffers that shrink as their members die, and the placement search that makes use of them.

A model input planned into the arena (`--io-in-arena`) with views in it is one storage group: the row
views banded execution reads, and the chain output it writes over the input's first rows
(memory/patch.py). Held as one buffer it would stay whole until its last member dies. `member_buffers`
gives each member a buffer of its own lifetime, all tied to one base, so the input's rows free their
bytes once the last band has read them while the chain output held over them lives on. Greedy
placement may then pin the layers after the bands around the surviving member; `front_moves`
improves a greedy placement by trying blocks earlier in its order.
"""
from __future__ import annotations

from tinygen.ir import Graph


def span(lowered: list, member_set: set) -> tuple:
    """(first op writing, last op reading or writing) any of the tensors; (len, -1) when none does."""
    first, last = len(lowered), -1
    for i, lop in enumerate(lowered):
        if any(t in member_set for t in lop.op.outputs):
            first = min(first, i)
            last = max(last, i)
        if any(t in member_set for t in lop.op.inputs if t is not None):
            last = max(last, i)
    return first, last


def member_buffers(graph: Graph, lowered: list, root: str, members: list, rel: dict) -> list:
    """A model input's storage group in the arena, with views in it (row views of banded execution, the
    chain output written over the input): one buffer per member, tied (one offset), each covering the
    group's bytes from its base to the member's end, for the member's own lifetime. The group then
    shrinks as its members die (the input's rows once the last band has read them; the chain output
    held over them lives on alone). Sound because every member is a prefix-anchored range of one base:
    bytes a live member needs are inside its own buffer. memory/bytecheck.py proves it on the plan."""
    from tinygen.memory.plan import Buffer

    out = []
    for m in sorted(members):
        first, last = span(lowered, {m})
        if m in graph.inputs:
            first, last = 0, max(last, 0)  # written by the caller before the first op
        if last < 0:
            continue
        out.append(Buffer(name=root if m == root else m, size=graph.tensors[m].nbytes + rel.get(m, 0),
                          first=min(first, last), last=last, tensors=[m], tie=f"group {root}", group=root))
    return out


IMPROVE_TRIALS = 400  # greedy placements the improvement pass may try (deterministic)


def front_moves(blocks: list, conflicts: list, order: list, height: int, bound: int):
    """Offsets better than `height` found by moving one block at a time to the front of the greedy order
    (kept when the height drops), or None. A buffer that shrinks as its members die (a banded input)
    placed first pins the tensors after it; another placed before it can take the room it leaves."""
    from tinygen.memory.plan import _greedy, _height

    best, trials = None, 0
    improved = True
    while improved and height > bound and trials < IMPROVE_TRIALS:
        improved = False
        for k in list(order):
            if trials >= IMPROVE_TRIALS:
                break
            trial = [k] + [j for j in order if j != k]
            offsets = _greedy(blocks, conflicts, trial)
            trials += 1
            if _height(blocks, offsets) < height:
                order, height, best, improved = trial, _height(blocks, offsets), offsets, True
                break
    return best
