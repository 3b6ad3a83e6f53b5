"""A byte-level proof of an arena plan: run the op list over the arena's bytes, recording which tensor
last wrote each byte, and fail when an op reads a byte some other tensor has overwritten.

The interval check of plan.py (`check`) proves that buffers live at the same time do not share bytes;
it trusts two declarations: an in-place op's output over its input, and the storage groups whose members
share one base (a model input with row views in it, the chain output of banded execution written over
the input's first rows, memory/patch.py). This check trusts neither: it follows the ops in order.

Tensors are related through views and aliases (a view or a reshape is a name for bytes of its source).
A tensor some op writes (or whose views some op writes: the chain output, band by band) must be read
from bytes that it or one of its views wrote; any other tensor (a model input, a row view of it, a
reshape of a layer's output) from bytes that it or one of its sources wrote. An op's scratch may not
overlap what it reads or writes, and an op may write over one of its inputs only where it declares
`inplace_of` for it. Views and aliases emit no call: they read and write nothing.
"""
from __future__ import annotations

import numpy as np

from tinygen.errors import TinygenError
from tinygen.ir import Graph
from tinygen.memory import views

_FREE, _SCRATCH = -1, -2


def _parents(graph: Graph, lowered: list) -> dict:
    parent = {dst: src for dst, src, _ in views.honoured(graph, lowered).values()}
    for lop in lowered:
        if lop.alias_of is not None:
            for out in lop.op.outputs:
                parent.setdefault(out, lop.alias_of)
    return parent


def _ancestors(t: str, parent: dict) -> list:
    out = [t]
    while out[-1] in parent and parent[out[-1]] not in out:
        out.append(parent[out[-1]])
    return out


def check(graph: Graph, lowered: list, storage: dict, scratch: dict, arena_bytes: int) -> None:
    """Raise TinygenError naming the op and tensor when the plan lets an op read overwritten bytes."""
    parent = _parents(graph, lowered)
    no_call = set(views.honoured(graph, lowered)) | {i for i, lop in enumerate(lowered) if lop.alias_of is not None}
    ids = {name: k for k, name in enumerate(graph.tensors)}
    names = list(graph.tensors)
    span = {t: (s[1], s[1] + graph.tensors[t].nbytes) for t, s in storage.items() if s[0] == "arena"}
    written = set()  # tensors some op writes, and every source they are a view of
    for i, lop in enumerate(lowered):
        if i not in no_call:
            for t in lop.op.outputs:
                written.update(_ancestors(t, parent))
    owner = np.full(max(arena_bytes, 1), _FREE, dtype=np.int64)
    for t in graph.inputs:
        if t in span:
            owner[span[t][0]:span[t][1]] = ids[t]  # the caller's input, copied in before the run
    for i, lop in enumerate(lowered):
        if i in no_call:
            continue
        reads = [t for t in lop.op.inputs if t is not None and t in span]
        writes = [t for t in lop.op.outputs if t in span]
        for t in reads:
            _check_read(i, lop, t, owner[span[t][0]:span[t][1]], names, parent, written)
        _check_overlaps(i, lop, reads, writes, span, scratch.get(i), parent)
        if i in scratch and lop.scratch_bytes > 0:
            owner[scratch[i]:scratch[i] + lop.scratch_bytes] = _SCRATCH
        for t in writes:
            owner[span[t][0]:span[t][1]] = ids[t]


def _check_read(i: int, lop, t: str, got: np.ndarray, names: list, parent: dict, written: set) -> None:
    for o in np.unique(got):
        if o == _FREE:
            raise TinygenError(f"arena plan: op {i} ('{lop.op.name}') reads '{t}' from bytes nothing wrote")
        if o == _SCRATCH:
            raise TinygenError(f"arena plan: op {i} ('{lop.op.name}') reads '{t}' from bytes a scratch overwrote")
        w = names[o]  # t itself or a view of it wrote these bytes; or, for a tensor no op writes, a source
        if t not in _ancestors(w, parent) and (t in written or w not in _ancestors(t, parent)):
            raise TinygenError(f"arena plan: op {i} ('{lop.op.name}') reads '{t}' from bytes '{names[o]}' "
                               f"overwrote")


def _check_overlaps(i: int, lop, reads: list, writes: list, span: dict, scratch, parent: dict) -> None:
    def meet(a, b):
        return a[0] < b[1] and b[0] < a[1]

    for y in writes:
        for x in reads:
            if meet(span[x], span[y]) and lop.inplace_of not in _ancestors(x, parent) \
                    and x not in _ancestors(y, parent) and y not in _ancestors(x, parent):
                raise TinygenError(f"arena plan: op {i} ('{lop.op.name}') writes '{y}' over its input '{x}' "
                                   f"without an in-place kernel")
    if scratch is not None and lop.scratch_bytes > 0:
        s = (scratch, scratch + lop.scratch_bytes)
        for t in reads + writes:
            if meet(s, span[t]):
                raise TinygenError(f"arena plan: op {i} ('{lop.op.name}') has its scratch over '{t}'")
