"""Arena planning: storage classes from aliasing, lifetimes from the execution order, offsets by placement.

Liveness (which buffers exist when) is kept apart from placement (where they go), so placement
strategies can be swapped and compared. `plan` runs several greedy orders, then an exact branch and
bound when a greedy result is above the live-set lower bound and the graph is small enough; `check`
proves the result has no overlap.

In-place execution: a LoweredOp may set `inplace_of = <input tensor>`, promising that its
kernel is correct when the output starts at that input's address (and also when the two are apart).
The planner honours the declaration when the input's last reader is that op and both tensors live in
the arena: the two buffers are *tied* (one offset) and may overlap each other, nothing else.

Model inputs and outputs: by default they stay in the caller's buffers (storage "input" / "output").
Under `io_in_arena` (the build option of that name) they are arena buffers like any other: an input is
live from before the first op to its last reader, an output from its writer to the end of the run, so
each shares bytes with tensors that are dead by then or not yet written (as TFLM's arena holds them).
An input's group with views in it is split by member (memory/shrink.py), so its bytes free as the
members die. The build's plan is then proven byte by byte (memory/bytecheck.py): no op reads a byte
that another op, or a scratch, has overwritten since the tensor was written.
"""
from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass, field
from typing import Optional

from tinygen.errors import TinygenError
from tinygen.ir import Graph
from tinygen.memory import shrink, views

ALIGN = 16
EXACT_MAX_BLOCKS = 40  # branch and bound only below this many placement blocks
EXACT_NODE_BUDGET = 20000  # search nodes (deterministic, unlike a time limit); the best found so far is kept
# Whether model inputs and outputs are planned into the arena, for the memory stage now running
# (schedule.optimize sets it, so the in-place and order searches it calls plan the same way).
_IO_IN_ARENA = contextvars.ContextVar("tinygen_io_in_arena", default=False)


@contextlib.contextmanager
def io_in_arena(on: bool):
    """Within the block, `liveness` and `plan` place model inputs and outputs in the arena when `on`."""
    token = _IO_IN_ARENA.set(bool(on))
    try:
        yield
    finally:
        _IO_IN_ARENA.reset(token)


def _io_flag(value) -> bool:
    return _IO_IN_ARENA.get() if value is None else bool(value)


def align(n: int, a: int = ALIGN) -> int:
    return (n + a - 1) // a * a


@dataclass
class Buffer:
    """One arena allocation: a group of aliased tensors (kind "tensor") or one op's scratch ("scratch")."""
    name: str
    size: int  # bytes, unaligned
    first: int  # index of the first op that writes it
    last: int  # index of the last op that reads it
    tensors: list = field(default_factory=list)
    offset: int = -1
    tie: Optional[str] = None  # buffers with the same tie share one offset and may overlap (in place)
    kind: str = "tensor"  # "tensor" | "scratch"
    op: Optional[int] = None  # for scratch: the index of the op that owns it
    group: Optional[str] = None  # the root of a storage group split by member (shrink.member_buffers)

    @property
    def is_scratch(self) -> bool:
        return self.kind == "scratch"


@dataclass
class Plan:
    arena_bytes: int
    lower_bound: int  # max over time of the aligned live bytes (tied buffers counted once)
    buffers: list
    storage: dict  # tensor name -> ("input", i) | ("output", i) | ("arena", offset)
    scratch: dict  # op index -> arena offset
    strategy: str = "greedy-by-size"
    live: list = field(default_factory=list)  # per op: aligned arena bytes live while it runs
    inplace: list = field(default_factory=list)  # op indices whose output was placed over its input
    exact: bool = False  # True when the arena is proven minimal for this order and these buffers
    views: list = field(default_factory=list)  # op indices whose output is a view of their input: no call
    state_bytes: int = 0  # the persistent state region (variables), apart from the arena
    state: list = field(default_factory=list)  # state.Slot per variable tensor
    io_in_arena: bool = False  # model inputs and outputs are arena buffers (storage "arena")


def _alias_roots(graph: Graph, lowered: list) -> dict:
    """Union aliased tensors (RESHAPE outputs share their input's storage; a view lives inside its input)."""
    view_pairs = [(dst, src) for dst, src, _ in views.honoured(graph, lowered).values()]
    return views.union_roots(graph, views.alias_pairs(lowered) + view_pairs)


def liveness(graph: Graph, lowered: list, io_in_arena=None) -> tuple:
    """Buffers with lifetimes (op indices), and the storage class of every activation tensor.

    Buffers tied by an honoured in-place declaration carry the same `tie`. `io_in_arena` (None: the
    memory stage's setting) makes model inputs and outputs arena buffers.
    """
    in_arena = _io_flag(io_in_arena)
    root = _alias_roots(graph, lowered)
    rel = views.offsets(graph, lowered)
    groups: dict = {}
    for name, t in graph.tensors.items():
        if not t.is_const:
            groups.setdefault(root[name], []).append(name)
    from tinygen.memory import state

    storage: dict = state.state_storage(graph, groups)  # variables: the persistent state region
    buffers: list = []
    for r, members in groups.items():
        if members[0] in storage:
            continue
        ins = [graph.inputs.index(m) for m in members if m in graph.inputs]
        outs = [graph.outputs.index(m) for m in members if m in graph.outputs]
        if ins and outs:
            raise TinygenError(f"model input '{graph.inputs[ins[0]]}' is also output "
                               f"'{graph.outputs[outs[0]]}' through a reshape; tinygen needs a copy op there")
        if ins and not in_arena:
            for m in members:
                storage[m] = ("input_view", (ins[0], rel[m])) if rel.get(m) else ("input", ins[0])
            continue
        if outs:
            if len(set(outs)) > 1:
                raise TinygenError(f"model outputs {sorted(set(outs))} share storage")
            if not in_arena:
                for m in members:
                    storage[m] = ("output", outs[0])
                continue
        if in_arena and ins and len(members) > 1:
            buffers += shrink.member_buffers(graph, lowered, r, members, rel)
            continue
        first, last = shrink.span(lowered, set(members))
        if in_arena and ins:
            first, last = 0, max(last, 0)  # written by the caller before the first op
        if in_arena and outs:
            first, last = min(first, len(lowered) - 1), len(lowered) - 1  # read by the caller after the run
        if last < 0:
            continue  # dead tensor
        size = views.group_bytes(graph, members, rel)
        buffers.append(Buffer(name=r, size=size, first=first, last=last, tensors=sorted(members)))
    for i, lop in enumerate(lowered):
        if lop.scratch_bytes > 0:
            buffers.append(Buffer(name=f"scratch of op {i}", size=lop.scratch_bytes, first=i, last=i,
                                  kind="scratch", op=i))
    _tie_inplace(buffers, root, lowered)
    return buffers, storage


def _tie_inplace(buffers: list, root: dict, lowered: list) -> list:
    """Tie output and input buffers of ops declaring `inplace_of`, where that is sound; returns the ops."""
    by_name = {b.name: b for b in buffers}
    group_last: dict = {}  # a split group dies with its last member
    for b in buffers:
        if b.group is not None:
            group_last[b.group] = max(group_last.get(b.group, -1), b.last)
    honoured = []
    for i, lop in enumerate(lowered):
        src = lop.inplace_of
        if src is None or len(lop.op.outputs) != 1:
            continue
        x = by_name.get(root.get(src, ""))
        y = by_name.get(root.get(lop.op.outputs[0], ""))
        if x is None or y is None or x is y or group_last.get(x.group, x.last) != i or y.first != i:
            continue
        if x.tie is not None and x.tie == y.tie:
            continue
        old, new = y.tie, (x.tie or x.name)
        x.tie = new
        for b in buffers:
            if old is not None and b.tie == old:
                b.tie = new
        y.tie = new
        honoured.append(i)
    return honoured


def inplace_ops(graph: Graph, lowered: list, io_in_arena=None) -> list:
    """Indices of ops whose in-place declaration the planner honours."""
    buffers, _ = liveness(graph, lowered, io_in_arena)
    return _tie_inplace(buffers, _alias_roots(graph, lowered), lowered)


def overlaps_in_time(a: Buffer, b: Buffer) -> bool:
    return a.first <= b.last and b.first <= a.last


def live_profile(buffers: list) -> list:
    """Aligned arena bytes needed at each op: tied buffers share memory, so a tie counts its largest."""
    if not buffers:
        return []
    steps = max(b.last for b in buffers) + 1
    out = []
    for t in range(steps):
        ties: dict = {}
        total = 0
        for b in buffers:
            if b.first <= t <= b.last:
                if b.tie is None:
                    total += align(b.size)
                else:
                    ties[b.tie] = max(ties.get(b.tie, 0), align(b.size))
        out.append(total + sum(ties.values()))
    return out


def lower_bound(buffers: list) -> int:
    return max(live_profile(buffers), default=0)


# ---- placement --------------------------------------------------------------------------------


@dataclass
class _Block:
    """What placement moves: one buffer, or a tie of buffers that share an offset."""
    members: list
    size: int  # largest aligned member
    first: int
    last: int
    key: str


def blocks_of(buffers: list) -> list:
    ties: dict = {}
    out = []
    for b in buffers:
        if b.tie is None:
            out.append([b])
        else:
            if b.tie not in ties:
                ties[b.tie] = []
                out.append(ties[b.tie])
            ties[b.tie].append(b)
    return [_Block(m, max(align(b.size) for b in m), min(b.first for b in m), max(b.last for b in m),
                   min(b.name for b in m)) for m in out]


def _conflicts(blocks: list) -> list:
    """For each block, the (other block index, member, other member) pairs that overlap in time."""
    res = [[] for _ in blocks]
    for i, a in enumerate(blocks):
        for j in range(i + 1, len(blocks)):
            c = blocks[j]
            if a.first > c.last or c.first > a.last:
                continue
            for ma in a.members:
                for mc in c.members:
                    if overlaps_in_time(ma, mc):
                        res[i].append((j, align(ma.size), align(mc.size)))
                        res[j].append((i, align(mc.size), align(ma.size)))
    return res


def _lowest_fit(k: int, conflicts: list, offsets: list, floor: int = 0) -> int:
    """The lowest offset >= floor where block k fits next to the placed blocks (offsets[j] >= 0)."""
    busy = []
    for j, mine, theirs in conflicts[k]:
        o = offsets[j]
        if o >= 0:
            busy.append((o - mine, o + theirs))  # block k's base must avoid [o - mine, o + theirs)
    busy.sort()
    offset = floor
    for lo, hi in busy:
        if offset <= lo:
            break
        offset = max(offset, hi)
    return offset


def _height(blocks: list, offsets: list) -> int:
    return max((o + b.size for b, o in zip(blocks, offsets)), default=0)


def _greedy(blocks: list, conflicts: list, order: list) -> list:
    offsets = [-1] * len(blocks)
    for k in order:
        offsets[k] = _lowest_fit(k, conflicts, offsets)
    return offsets


def _orders(blocks: list, conflicts: list) -> dict:
    idx = range(len(blocks))
    n_conf = [len({j for j, _, _ in c}) for c in conflicts]
    area = [sum(align(m.size) * (m.last - m.first + 1) for m in b.members) for b in blocks]
    return {
        "greedy-by-size": sorted(idx, key=lambda k: (-blocks[k].size, blocks[k].first, blocks[k].key)),
        "greedy-by-breadth": sorted(idx, key=lambda k: (-(blocks[k].last - blocks[k].first), -blocks[k].size,
                                                        blocks[k].key)),
        "greedy-by-conflicts": sorted(idx, key=lambda k: (-n_conf[k], -blocks[k].size, blocks[k].key)),
        "greedy-by-first-use": sorted(idx, key=lambda k: (blocks[k].first, -blocks[k].size, blocks[k].key)),
        "greedy-by-area": sorted(idx, key=lambda k: (-area[k], blocks[k].key)),
    }


def place_exact(blocks: list, conflicts: list, incumbent: list, bound: int,
                node_budget: Optional[int] = EXACT_NODE_BUDGET) -> tuple:
    """Branch and bound over placement orders with lowest fit; returns (offsets, proven_optimal).

    Exact because some optimal placement is reproduced by lowest fit when blocks are placed in
    increasing offset order (push every block down as far as it goes; repeat until nothing moves),
    so the search only extends orders whose offsets do not decrease, and cuts at the best height.
    """
    n = len(blocks)
    best = [_height(blocks, incumbent), list(incumbent)]
    if best[0] <= bound or n == 0:
        return best[1], True
    offsets = [-1] * n
    nodes = [0]
    exhausted = [False]

    def dfs(placed: int, floor: int, height: int) -> None:
        if placed == n:
            if height < best[0]:
                best[0], best[1] = height, list(offsets)
            return
        nodes[0] += 1
        if node_budget is not None and nodes[0] > node_budget:
            exhausted[0] = True
            return
        cands = []
        for k in range(n):
            if offsets[k] < 0:
                o = _lowest_fit(k, conflicts, offsets, floor)
                if o + blocks[k].size >= best[0]:
                    return  # block k can never be placed lower than this: no completion improves
                cands.append((o, -blocks[k].size, k))
        cands.sort()
        for o, _, k in cands:
            offsets[k] = o
            dfs(placed + 1, o, max(height, o + blocks[k].size))
            offsets[k] = -1
            if best[0] <= bound or exhausted[0]:
                return

    dfs(0, 0, 0)
    return best[1], (not exhausted[0]) or best[0] <= bound


def place(buffers: list, exact: bool = True) -> tuple:
    """Set every buffer's offset; returns (arena bytes, strategy name, proven optimal)."""
    blocks = blocks_of(buffers)
    conflicts = _conflicts(blocks)
    bound = lower_bound(buffers)
    best = None
    for name, order in _orders(blocks, conflicts).items():
        offsets = _greedy(blocks, conflicts, order)
        h = _height(blocks, offsets)
        if best is None or h < best[0]:
            best = (h, name, offsets)
    h, name, offsets = best
    if h > bound:
        better = shrink.front_moves(blocks, conflicts, _orders(blocks, conflicts)[name], h, bound)
        if better is not None:
            h, name, offsets = _height(blocks, better), name + ", improved", better
    proven = h <= bound
    if exact and not proven and len(blocks) <= EXACT_MAX_BLOCKS:
        offsets, proven = place_exact(blocks, conflicts, offsets, bound)
        if _height(blocks, offsets) < h:
            h, name = _height(blocks, offsets), "branch-and-bound"
    for b, o in zip(blocks, offsets):
        for m in b.members:
            m.offset = o
    return h, name, proven


def place_greedy(buffers: list, order_key) -> int:
    """Place buffers (ties as one block) in `order_key` order at the lowest offset free for their lifetime."""
    blocks = blocks_of(buffers)
    conflicts = _conflicts(blocks)
    order = sorted(range(len(blocks)), key=lambda k: min(order_key(m) for m in blocks[k].members))
    offsets = _greedy(blocks, conflicts, order)
    for b, o in zip(blocks, offsets):
        for m in b.members:
            m.offset = o
    return _height(blocks, offsets)


def check(buffers: list) -> None:
    """Raise if two buffers that live at the same time overlap in the arena (ties may overlap)."""
    for i, a in enumerate(buffers):
        if a.offset < 0:
            raise TinygenError(f"arena plan left '{a.name}' unplaced")
        for b in buffers[i + 1:]:
            if a.tie is not None and a.tie == b.tie:
                if a.offset != b.offset:
                    raise TinygenError(f"arena plan split the in-place pair '{a.name}' / '{b.name}'")
                continue
            if overlaps_in_time(a, b) and a.offset < b.offset + b.size and b.offset < a.offset + a.size:
                raise TinygenError(f"arena plan overlap between '{a.name}' and '{b.name}'")


STRATEGIES = {
    "greedy-by-size": lambda b: (-align(b.size), b.first, b.name),
    "greedy-by-breadth": lambda b: (-(b.last - b.first), -align(b.size), b.name),
    "greedy-by-first-use": lambda b: (b.first, -align(b.size), b.name),
}


def plan(graph: Graph, lowered: list, exact: bool = True, io_in_arena=None) -> Plan:
    """Place every buffer; `io_in_arena` (None: the memory stage's setting) plans the model's I/O too."""
    in_arena = _io_flag(io_in_arena)
    buffers, storage = liveness(graph, lowered, in_arena)
    rel = views.offsets(graph, lowered)
    size, name, proven = place(buffers, exact=exact)
    check(buffers)
    scratch = {}
    for b in buffers:
        if b.is_scratch:
            scratch[b.op] = b.offset
        else:
            for t in b.tensors:
                storage[t] = ("arena", b.offset + rel.get(t, 0))
    honoured = _tie_inplace([Buffer(b.name, b.size, b.first, b.last, kind=b.kind, op=b.op, group=b.group)
                             for b in buffers],
                            _alias_roots(graph, lowered), lowered)
    from tinygen.memory import bytecheck

    if exact:  # the build's plan (the memory stage's trial plans skip it): no op reads overwritten bytes
        bytecheck.check(graph, lowered, storage, scratch, size)
    profile = live_profile(buffers)
    profile += [0] * (len(lowered) - len(profile))
    from tinygen.memory import state

    slots, state_bytes = state.layout(graph)
    return Plan(arena_bytes=size, lower_bound=max(profile, default=0), buffers=buffers,
                storage=storage, scratch=scratch, strategy=name, live=profile, inplace=honoured,
                exact=proven, state_bytes=state_bytes, state=slots, io_in_arena=in_arena,
                views=sorted(views.honoured(graph, lowered)))
