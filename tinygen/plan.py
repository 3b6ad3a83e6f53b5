"""Arena planning: storage classes from aliasing, lifetimes from the execution order, offsets by placement.

Liveness (which buffers exist when) is kept apart from placement (where they go), so placement
strategies can be swapped and compared; `place_greedy` is the default and `check` proves no overlap.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .errors import TinygenError
from .ir import Graph

ALIGN = 16


def align(n: int, a: int = ALIGN) -> int:
    return (n + a - 1) // a * a


@dataclass
class Buffer:
    """One arena allocation: a group of aliased tensors or one op's scratch."""
    name: str
    size: int  # bytes, unaligned
    first: int  # index of the first op that writes it
    last: int  # index of the last op that reads it
    tensors: list = field(default_factory=list)
    offset: int = -1


@dataclass
class Plan:
    arena_bytes: int
    lower_bound: int  # max over time of the aligned live bytes
    buffers: list
    storage: dict  # tensor name -> ("input", i) | ("output", i) | ("arena", offset)
    scratch: dict  # op index -> arena offset
    strategy: str = "greedy-by-size"


def _alias_roots(graph: Graph, lowered: list) -> dict:
    """Union aliased tensors (RESHAPE outputs share their input's storage)."""
    parent: dict = {}

    def find(t: str) -> str:
        while parent.get(t, t) != t:
            t = parent[t]
        return t

    for lop in lowered:
        if lop.alias_of is not None:
            for out in lop.op.outputs:
                a, b = find(out), find(lop.alias_of)
                if a != b:
                    parent[a] = b
    return {t: find(t) for t in graph.tensors}


def liveness(graph: Graph, lowered: list) -> tuple:
    """Buffers with lifetimes (op indices), and the storage class of every activation tensor."""
    root = _alias_roots(graph, lowered)
    groups: dict = {}
    for name, t in graph.tensors.items():
        if not t.is_const:
            groups.setdefault(root[name], []).append(name)
    storage: dict = {}
    buffers: list = []
    for r, members in groups.items():
        ins = [graph.inputs.index(m) for m in members if m in graph.inputs]
        outs = [graph.outputs.index(m) for m in members if m in graph.outputs]
        if ins and outs:
            raise TinygenError(f"model input '{graph.inputs[ins[0]]}' is also output "
                               f"'{graph.outputs[outs[0]]}' through a reshape; tinygen needs a copy op there")
        if ins:
            for m in members:
                storage[m] = ("input", ins[0])
            continue
        if outs:
            if len(set(outs)) > 1:
                raise TinygenError(f"model outputs {sorted(set(outs))} share storage")
            for m in members:
                storage[m] = ("output", outs[0])
            continue
        first, last = len(lowered), -1
        for i, lop in enumerate(lowered):
            if any(t in members for t in lop.op.outputs):
                first = min(first, i)
                last = max(last, i)
            if any(t in members for t in lop.op.inputs if t is not None):
                last = max(last, i)
        if last < 0:
            continue  # dead tensor
        size = max(graph.tensors[m].nbytes for m in members)
        buffers.append(Buffer(name=r, size=size, first=first, last=last, tensors=sorted(members)))
    for i, lop in enumerate(lowered):
        if lop.scratch_bytes > 0:
            buffers.append(Buffer(name=f"scratch:{i}", size=lop.scratch_bytes, first=i, last=i))
    return buffers, storage


def overlaps_in_time(a: Buffer, b: Buffer) -> bool:
    return a.first <= b.last and b.first <= a.last


def lower_bound(buffers: list) -> int:
    if not buffers:
        return 0
    steps = max(b.last for b in buffers) + 1
    return max((sum(align(b.size) for b in buffers if b.first <= t <= b.last) for t in range(steps)), default=0)


def place_greedy(buffers: list, order_key) -> int:
    """Place buffers in `order_key` order at the lowest offset free for their whole lifetime."""
    placed: list = []
    for b in sorted(buffers, key=order_key):
        busy = sorted((p.offset, p.offset + align(p.size)) for p in placed if overlaps_in_time(p, b))
        offset = 0
        for start, end in busy:
            if offset + align(b.size) <= start:
                break
            offset = max(offset, end)
        b.offset = offset
        placed.append(b)
    return max((b.offset + align(b.size) for b in buffers), default=0)


def check(buffers: list) -> None:
    """Raise if two buffers that live at the same time overlap in the arena."""
    for i, a in enumerate(buffers):
        for b in buffers[i + 1:]:
            if overlaps_in_time(a, b) and a.offset < b.offset + b.size and b.offset < a.offset + a.size:
                raise TinygenError(f"arena plan overlap between '{a.name}' and '{b.name}'")


STRATEGIES = {
    "greedy-by-size": lambda b: (-align(b.size), b.first, b.name),
    "greedy-by-breadth": lambda b: (-(b.last - b.first), -align(b.size), b.name),
    "greedy-by-first-use": lambda b: (b.first, -align(b.size), b.name),
}


def plan(graph: Graph, lowered: list) -> Plan:
    buffers, storage = liveness(graph, lowered)
    best = None
    for name, key in STRATEGIES.items():
        size = place_greedy(buffers, key)
        if best is None or size < best[1]:
            best = (name, size, [b.offset for b in buffers])
    name, size, offsets = best
    for b, off in zip(buffers, offsets):
        b.offset = off
    check(buffers)
    scratch = {}
    for b in buffers:
        if b.name.startswith("scratch:"):
            scratch[int(b.name.split(":")[1])] = b.offset
        else:
            for t in b.tensors:
                storage[t] = ("arena", b.offset)
    return Plan(arena_bytes=size, lower_bound=lower_bound(buffers), buffers=buffers,
                storage=storage, scratch=scratch, strategy=name)
