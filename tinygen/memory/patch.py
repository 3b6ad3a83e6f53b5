"""Patch-based execution of the first high-resolution layers (as MCUNetV2 does), in horizontal bands.

A *chain* is a run of spatial layers from the model's input (conv, depthwise, 1x1 conv) where each
layer reads only the one before it. Instead of computing each layer over the whole image, the chain's
last output is computed band by band of output rows: for a band, every layer of the chain computes
only the rows the next one needs (the receptive field, walked back through kernel size, stride,
dilation and top padding; rows shared by neighbouring bands are computed again). The kernels run
unchanged on band buffers: a band's input starts at the first row it needs, so its top padding is
the image's only for the first band; its height is the rows it holds, and a band that ends before
the image's last row never reaches the kernel's bottom clipping (only the last band does, as the
whole image would). The chain's last layer writes its band straight into its full-size output.

`expand` turns the lowered ops into that sequence (band ops share their layer's constant arrays),
with row views of the model input and of the chain's output (memory/views.py: no copy), so the
planner and codegen need nothing else. `choose` is the build's choice under a RAM budget: keep
layer-by-layer when it fits, else the banding that fits with the fewest added instructions, within a
limit on them (default +10% of the model's), both estimated from the kernels' measured costs, the
added part scaled by the measured overhead of running in bands (memory/cost.py: PATCH_OVERHEAD);
the recomputed MACs are reported too.

With the model input in the arena, the chain's output may be written over the input's first bytes
(`overlay`): band b's output rows end before the first input row band b + 1 reads (`overlay_fits`),
so each band writes only over input rows every later band is past. The planner holds the input's
rows only until the last band has read them (memory/shrink.py), the chain output over them lives on,
and memory/bytecheck.py proves on the final plan that no band reads a byte another has overwritten.
Once the bands have moved the peak, the layers after the chain get the memory stage's in-place and
scratch rewrites again (`_after_bands`).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional

from tinygen.ir import Graph, Op, OpKind
from tinygen.lower.base import Literal, LoweredOp, TensorArg
from tinygen.lower.csig import check_call
from tinygen.memory import plan as planner
from tinygen.memory import views

DEFAULT_LIMIT = 0.10  # estimated extra instructions allowed for the bands, as a fraction of the model's
_WINDOW = {"in_h", "out_h", "pad_top", "stride_h", "dilation_h", "filter_h", "input", "output"}
_POINTWISE = {"pixels", "input", "output"}
_BANDS = (2, 3, 4, 6, 8, 12, 16, 24)  # band counts tried


@dataclass(frozen=True)
class Geom:
    """Row geometry of one layer: output row y reads input rows y*stride - pad + k*dilation, k < kernel."""
    kernel: int
    stride: int
    dilation: int
    pad: int
    in_h: int
    out_h: int


@dataclass
class Choice:
    """What `choose` picked: the chain's layers, the band count, and what it costs and saves."""
    ops: list  # indices of the patched layers (a prefix of the lowered ops)
    bands: int
    macs: int  # MACs of the model, patched
    base_macs: int  # MACs layer by layer
    insns: int  # estimated instructions of the model, patched (memory/cost.py)
    base_insns: int  # the same, layer by layer
    arena_bytes: int
    base_arena_bytes: int
    overlay: bool = False  # the chain's output is written over the model input's consumed rows

    @property
    def extra(self) -> float:
        """Estimated extra instructions, as a fraction of the layer-by-layer model's."""
        return (self.insns - self.base_insns) / max(self.base_insns, 1)


def _args(lop: LoweredOp) -> dict:
    return {p.name: a for p, a in zip(check_call(lop), lop.args)}


def geometry(lop: LoweredOp, graph: Graph) -> Optional[Geom]:
    """The layer's row geometry, or None when its kernel cannot run on bands."""
    if lop.op.kind not in (OpKind.CONV_2D, OpKind.DEPTHWISE_CONV_2D) or lop.view_of or lop.alias_of:
        return None
    try:
        args = _args(lop)
    except Exception:  # a call that does not match its kernel's signature is not banded
        return None
    tensors = [a for a in lop.args if isinstance(a, TensorArg)]
    if len(tensors) != 2 or not tensors[0].const or tensors[1].const:
        return None
    x, y = graph.tensors[tensors[0].tensor].shape, graph.tensors[tensors[1].tensor].shape
    if len(x) != 4 or len(y) != 4 or x[0] != 1:
        return None
    lit = {k: a.value for k, a in args.items() if isinstance(a, Literal) and isinstance(a.value, int)}
    if _WINDOW <= set(args) and all(k in lit for k in ("in_h", "out_h", "pad_top", "stride_h", "dilation_h",
                                                          "filter_h")):
        if lit.get("batches", 1) != 1 or lit["in_h"] != x[1] or lit["out_h"] != y[1]:
            return None
        return Geom(lit["filter_h"], lit["stride_h"], lit["dilation_h"], lit["pad_top"], x[1], y[1])
    if _POINTWISE <= set(args) and lit.get("pixels") == x[1] * x[2] and x[1:3] == y[1:3]:
        return Geom(1, 1, 1, 0, x[1], y[1])
    return None


def _io(lop: LoweredOp) -> tuple:
    ts = [a.tensor for a in lop.args if isinstance(a, TensorArg)]
    return ts[0], ts[1]


def chain(graph: Graph, lowered: list) -> list:
    """Indices of the longest patchable chain from the model's first input (empty when there is none)."""
    readers: dict = {}
    for i, lop in enumerate(lowered):
        for t in lop.op.inputs:
            if t is not None:
                readers.setdefault(t, set()).add(i)
    out = []
    prev = graph.inputs[0] if graph.inputs else None
    for i, lop in enumerate(lowered):
        if geometry(lop, graph) is None:
            break
        x, y = _io(lop)
        if x != prev or readers.get(x) != {i} or y in graph.outputs:  # the input too: bands may overwrite it
            break
        if graph.tensors[x].dtype != "int8" or graph.tensors[y].dtype != "int8":
            break
        out.append(i)
        prev = y
    return out


def rows(geoms: list, first: int, stop: int) -> list:
    """For output rows [first, stop) of the last layer: per layer (in_first, in_stop, band_pad, out_first,
    out_stop), walking back through the chain."""
    out = []
    for g in reversed(geoms):
        lo = first * g.stride - g.pad
        hi = (stop - 1) * g.stride - g.pad + (g.kernel - 1) * g.dilation + 1
        r0, r1 = max(0, lo), min(g.in_h, hi)
        out.append((r0, r1, r0 - lo, first, stop))
        first, stop = r0, r1
    return out[::-1]


def splits(height: int, bands: int) -> list:
    """`bands` near-equal row ranges covering [0, height)."""
    edges = [height * k // bands for k in range(bands + 1)]
    return [(a, b) for a, b in zip(edges, edges[1:]) if b > a]


def _row_bytes(graph: Graph, name: str) -> int:
    t = graph.tensors[name]
    return t.nbytes // t.shape[1]


def _view(graph: Graph, src: str, dst: str, offset: int, rows_: int, name: str) -> LoweredOp:
    """A row view: `dst` is rows of `src` from byte `offset` (the planner stores it there; no call)."""
    t = graph.tensors[src]
    graph.tensors[dst] = dataclasses.replace(t, name=dst, shape=(1, rows_) + tuple(t.shape[2:]), data=None)
    op = Op(OpKind.STRIDED_SLICE, name, [src], [dst])
    return LoweredOp(op=op, c_function="", c_sources=(), args=[], const_arrays=[], reference=None,
                     view_of=(src, offset))


def _band_op(lop: LoweredOp, g: Geom, r: tuple, src: str, dst: str, name: str) -> LoweredOp:
    r0, r1, pad, a, b = r
    x, y = _io(lop)
    new_args = []
    for p, arg in zip(check_call(lop), lop.args):
        if isinstance(arg, TensorArg):
            arg = TensorArg(src if arg.tensor == x else dst, arg.const)
        elif p.name == "in_h":
            arg = Literal(r1 - r0)
        elif p.name == "out_h":
            arg = Literal(b - a)
        elif p.name == "pad_top":
            arg = Literal(pad)
        elif p.name == "pixels":
            arg = Literal((b - a) * (lop.args[[q.name for q in check_call(lop)].index("pixels")].value // g.out_h))
        new_args.append(arg)
    op = dataclasses.replace(lop.op, name=name, inputs=[src if t == x else t for t in lop.op.inputs],
                             outputs=[dst])
    macs = lop.macs * (b - a) // g.out_h
    return dataclasses.replace(lop, op=op, args=new_args, macs=macs,
                               inplace_of=src if lop.inplace_of == x else None)


def overlay_fits(graph: Graph, lowered: list, ops: list, bands: int) -> bool:
    """Can the chain's output be written over the model input's first bytes? Each band's output rows must
    end before the first input row a later band still reads (a band reads all its rows before writing)."""
    geoms = [geometry(lowered[i], graph) for i in ops]
    x, y = _io(lowered[ops[0]])[0], _io(lowered[ops[-1]])[1]
    if graph.tensors[y].nbytes > graph.tensors[x].nbytes or graph.tensors[x].dtype != graph.tensors[y].dtype:
        return False
    parts = splits(geoms[-1].out_h, bands)
    for (a, z), (a2, z2) in zip(parts, parts[1:]):
        if z * _row_bytes(graph, y) > rows(geoms, a2, z2)[0][0] * _row_bytes(graph, x):
            return False
    return True


def expand(graph: Graph, lowered: list, ops: list, bands: int, overlay: bool = False) -> tuple:
    """(graph, lowered) with layers `ops` (a chain prefix) run in `bands` bands of the last one's rows;
    None when the planner would not take the row views. `overlay` (inputs in the arena only, and where
    `overlay_fits`) stores the chain's output over the model input, whose rows die band by band.

    The graph gains the band tensors and row views; its ops list is kept (the reference runs whole layers)."""
    g2 = dataclasses.replace(graph, tensors=dict(graph.tensors))
    geoms = [geometry(lowered[i], graph) for i in ops]
    first_in, last_out = _io(lowered[ops[0]])[0], _io(lowered[ops[-1]])[1]
    seq = []
    if overlay:
        seq.append(LoweredOp(op=Op(OpKind.STRIDED_SLICE, "chain output over the input", [first_in], [last_out]),
                             c_function="", c_sources=(), args=[], const_arrays=[], reference=None,
                             view_of=(first_in, 0)))
    for b, (a, z) in enumerate(splits(geoms[-1].out_h, bands)):
        rr = rows(geoms, a, z)
        src = f"{first_in}@rows{b}"
        seq.append(_view(g2, first_in, src, rr[0][0] * _row_bytes(graph, first_in), rr[0][1] - rr[0][0],
                         f"band {b} input rows {rr[0][0]}-{rr[0][1] - 1}"))
        out_view = f"{last_out}@rows{b}"
        seq.append(_view(g2, last_out, out_view, a * _row_bytes(graph, last_out), z - a,
                         f"band {b} output rows {a}-{z - 1}"))
        for k, i in enumerate(ops):
            lop = lowered[i]
            y = _io(lop)[1]
            dst = out_view if k == len(ops) - 1 else f"{y}@band{b}"
            if dst != out_view:
                t = graph.tensors[y]
                g2.tensors[dst] = dataclasses.replace(t, name=dst, shape=(1, rr[k][4] - rr[k][3]) + tuple(t.shape[2:]))
            seq.append(_band_op(lop, geoms[k], rr[k], src, dst, f"{lop.op.name} [band {b}]"))
            src = dst
    out = seq + list(lowered[ops[-1] + 1:])
    wanted = {i for i, lop in enumerate(out) if lop.view_of is not None and i < len(seq)}
    if not wanted <= set(views.honoured(g2, out)):
        return None
    return g2, out


def _macs(lowered: list) -> int:
    return int(sum(lop.macs for lop in lowered))


def _after_bands(graph: Graph, lowered: list, io_in_arena: bool) -> tuple:
    """The banded op list with the in-place variants (and smaller-scratch kernels) that lower its arena
    now: once the bands have moved the peak, it may sit on layers after the chain (the memory stage's
    own rewrites, schedule.optimize, on the new list; band ops read band tensors and keep their kernels)."""
    from tinygen.lower import inplace
    from tinygen.memory import schedule

    with planner.io_in_arena(io_in_arena):
        return graph, schedule.trim_scratch(graph, inplace.rewrite(graph, lowered))


def candidates(graph: Graph, lowered: list, io_in_arena: bool = False):
    """(chain prefix, bands, overlay) worth planning: prefixes that end where the rows shrink or at the
    chain's end; with the inputs in the arena, also the chain's output written over the input."""
    ops = chain(graph, lowered)
    ends = [k for k in range(1, len(ops)) if k == len(ops) - 1
            or geometry(lowered[ops[k + 1]], graph).stride > 1 or geometry(lowered[ops[k]], graph).stride > 1]
    for k in ends:
        height = geometry(lowered[ops[k]], graph).out_h
        for n in _BANDS:
            if n <= height:
                yield ops[:k + 1], n, False
                if io_in_arena and overlay_fits(graph, lowered, ops[:k + 1], n):
                    yield ops[:k + 1], n, True


def choose(graph: Graph, lowered: list, budget: Optional[int], limit: float = DEFAULT_LIMIT,
           io_in_arena: bool = False) -> tuple:
    """(graph, lowered, Choice or None): layer by layer when no budget is given or it fits; else the
    banding that fits `budget` with the fewest extra MACs within `limit`, else the smallest arena found
    within `limit` (the caller's budget check then reports it)."""
    base = planner.plan(graph, lowered, exact=False, io_in_arena=io_in_arena).arena_bytes
    if budget is None or base <= budget:
        return graph, lowered, None
    return pick(graph, lowered, options(graph, lowered, limit, io_in_arena), budget)


def options(graph: Graph, lowered: list, limit: float = DEFAULT_LIMIT, io_in_arena: bool = False) -> list:
    """Every banding of the candidates within `limit`, as ((graph, lowered), Choice): what `choose` picks from."""
    from tinygen.memory import cost

    base = planner.plan(graph, lowered, exact=False, io_in_arena=io_in_arena).arena_bytes
    base_macs, base_insns = _macs(lowered), cost.instructions(graph, lowered)
    found = []
    for ops, n, overlay in candidates(graph, lowered, io_in_arena):
        got = expand(graph, lowered, ops, n, overlay)
        if got is None:
            continue
        got = _after_bands(got[0], got[1], io_in_arena)
        insns = cost.patched_instructions(base_insns, cost.instructions(*got))
        if insns - base_insns > limit * base_insns:
            continue
        arena = planner.plan(got[0], got[1], exact=False, io_in_arena=io_in_arena).arena_bytes
        found.append((got, Choice(ops, n, _macs(got[1]), base_macs, insns, base_insns, arena, base, overlay)))
    return found


def pick(graph: Graph, lowered: list, found: list, budget: int) -> tuple:
    """`choose`'s pick among `options`: the fewest instructions that fit `budget`, else the smallest arena;
    (graph, lowered, None) when nothing beats layer by layer."""
    best = None
    for got, ch in found:
        fits = ch.arena_bytes <= budget
        key = (not fits, ch.insns if fits else ch.arena_bytes, ch.arena_bytes)
        if best is None or key < best[0]:
            best = (key, got, ch)
    if best is None or best[2].arena_bytes >= best[2].base_arena_bytes:
        return graph, lowered, None
    (_, (g2, l2), choice) = best
    return g2, l2, choice


def summary(choice: Optional[Choice]) -> Optional[dict]:
    """The report's `patch` entry: None when the layers run one after the other."""
    if choice is None:
        return None
    return dict(layers=list(choice.ops), bands=choice.bands, macs=choice.macs, base_macs=choice.base_macs,
                extra_macs=choice.macs - choice.base_macs, extra=round(choice.extra, 6),
                estimated_instructions=choice.insns, estimated_extra_instructions=choice.insns - choice.base_insns,
                arena_bytes=choice.arena_bytes, layer_by_layer_arena_bytes=choice.base_arena_bytes,
                overlay=choice.overlay)
