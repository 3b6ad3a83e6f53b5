"""Arena planner, operator order and in-place kernels.

Hand-worked placements, an exhaustive optimum (every 16-byte-aligned offset, independent of the
planner's code) for random small cases, no overlap on every shared model, the order search against
every topological order, the in-place C kernels run on one shared buffer, and whole models vs TFLM.
"""
from __future__ import annotations

import itertools
from types import SimpleNamespace

import numpy as np
import pytest

from tinygen.memory import plan as planner
from tinygen.memory import schedule
from tinygen.errors import TinygenError
from tinygen.memory.plan import Buffer
from oracle import INT8_MODELS

U = planner.ALIGN

MODELS = dict(INT8_MODELS)
TFLM_HEAD = {"kws": 16000, "vww": 73728, "ic": 49152, "ad": 768, "sww": 6656, "hello_world": 32,
             "micro_speech": 5968, "person_detect": 55296}


def bufs(spec, ties=()):
    out = [Buffer(name=f"b{i}", size=s, first=f, last=l) for i, (s, f, l) in enumerate(spec)]
    for t, group in enumerate(ties):
        for i in group:
            out[i].tie = f"t{t}"
    return out


# ---- hand-worked cases -------------------------------------------------------------------------


def test_chain_reuses_memory():
    # a -> b -> c -> d: each buffer lives while it is produced and consumed once
    b = bufs([(100, 0, 1), (200, 1, 2), (100, 2, 3)])
    size = planner.place_greedy(b, planner.STRATEGIES["greedy-by-size"])
    planner.check(b)
    assert size == planner.align(100) + planner.align(200) == 320
    assert planner.lower_bound(b) == 320


def test_lower_bound_counts_alignment():
    b = bufs([(1, 0, 0), (17, 0, 0)])
    assert planner.lower_bound(b) == 16 + 32


def test_overlap_is_detected():
    b = bufs([(64, 0, 2), (64, 1, 3)])
    b[0].offset = 0
    b[1].offset = 32
    with pytest.raises(TinygenError, match="overlap"):
        planner.check(b)


def test_greedy_gap_case_solved_exactly():
    # Greedy by size puts A(32) at 0 and B(32) at 0 (disjoint in time); the 16s then stack to 64+16.
    # Optimum 64: A [0,1] at 0, C(16) [1,2] at 32, D(16) [2,3] at 32 or 48, B(32) [3,4] at 0 ...
    spec = [(32, 0, 1), (32, 3, 4), (16, 1, 2), (16, 2, 3), (16, 0, 0), (16, 4, 4)]
    b = bufs(spec)
    size, _, proven = planner.place(b)
    planner.check(b)
    assert proven and size == planner.lower_bound(b) == 48


def test_ad_like_chain_reaches_bound():
    # AD's shape: 128-byte activations with one 8-byte bottleneck; greedy by size gives 272, optimum 256
    sizes = [128, 128, 128, 128, 8, 128, 128, 128, 128]
    b = bufs([(s, i, i + 1) for i, s in enumerate(sizes)])
    size, _, proven = planner.place(b)
    planner.check(b)
    assert size == 256 and proven


def test_tied_buffers_share_offset_and_footprint():
    # x (16 B, ops 0-1) is overwritten in place by y (48 B, ops 1-2); z (32 B) lives at op 0 only.
    b = bufs([(16, 0, 1), (48, 1, 2), (32, 0, 0)], ties=[(0, 1)])
    assert planner.live_profile(b) == [48, 48, 48]
    size, _, _ = planner.place(b)
    planner.check(b)
    assert b[0].offset == b[1].offset
    assert size == 48  # z sits above x at op 0; y takes the whole 48 afterwards


def test_check_rejects_split_tie():
    b = bufs([(16, 0, 1), (16, 1, 2)], ties=[(0, 1)])
    b[0].offset, b[1].offset = 0, 16
    with pytest.raises(TinygenError, match="in-place"):
        planner.check(b)


# ---- exhaustive optimum for small cases ------------------------------------------------------


def true_optimum(buffers) -> int:
    """Smallest arena over every assignment of 16-aligned offsets (ties share one), by backtracking."""
    blocks = planner.blocks_of(buffers)
    lb = planner.lower_bound(buffers)
    total = sum(b.size for b in blocks)

    def ok(k, o, offs):
        for j, oj in offs.items():
            for ma in blocks[k].members:
                for mb in blocks[j].members:
                    if planner.overlaps_in_time(ma, mb) and o < oj + planner.align(mb.size) \
                            and oj < o + planner.align(ma.size):
                        return False
        return True

    for height in range(lb, total + 1, U):
        def fill(k, offs):
            if k == len(blocks):
                return True
            for o in range(0, height - blocks[k].size + 1, U):
                if ok(k, o, offs):
                    offs[k] = o
                    if fill(k + 1, offs):
                        return True
                    del offs[k]
            return False

        if fill(0, {}):
            return height
    raise AssertionError("unreachable")


def random_case(rng, n, steps=6, ties=False):
    spec = []
    for _ in range(n):
        first = int(rng.integers(0, steps))
        spec.append((int(rng.integers(1, 6)) * U - int(rng.integers(0, 2)) * 5, first,
                     min(steps, first + int(rng.integers(0, 3)))))
    groups = []
    if ties:
        # chain an in-place pair: a buffer ending at op i, and a new one starting at i
        i = int(rng.integers(0, n))
        s, f, l = spec[i]
        spec.append((int(rng.integers(1, 6)) * U, l, l + int(rng.integers(0, 3))))
        groups.append((i, len(spec) - 1))
    return bufs(spec, groups)


def test_exact_search_equals_exhaustive_optimum():
    rng = np.random.default_rng(0)
    for trial in range(80):
        b = random_case(rng, int(rng.integers(2, 7)), ties=trial % 3 == 0)
        opt = true_optimum(b)
        blocks = planner.blocks_of(b)
        conflicts = planner._conflicts(blocks)
        worst = planner._greedy(blocks, conflicts, list(range(len(blocks))))
        offsets, proven = planner.place_exact(blocks, conflicts, worst, planner.lower_bound(b),
                                              node_budget=None)
        assert proven
        assert planner._height(blocks, offsets) == opt, (trial, [(x.size, x.first, x.last) for x in b])


def test_plan_never_beats_optimum_and_reaches_it_on_small_cases():
    rng = np.random.default_rng(1)
    worse_greedy = 0
    for trial in range(80):
        b = random_case(rng, int(rng.integers(2, 7)), ties=trial % 4 == 0)
        opt = true_optimum(b)
        greedy = min(planner.place_greedy(b, key) for key in planner.STRATEGIES.values())
        size, _, proven = planner.place(b)
        planner.check(b)
        assert size == opt and proven
        assert greedy >= opt
        worse_greedy += greedy > opt
    assert worse_greedy < 80


# ---- operator order ----------------------------------------------------------------------------


def fake_graph(nodes, sizes):
    """A graph-like object for the scheduler: nodes = [(inputs, outputs)], sizes in bytes per tensor."""
    from tinygen.ir import Graph, Op, OpKind, Tensor

    tensors = {t: Tensor(name=t, shape=(s,), dtype="int8") for t, s in sizes.items()}
    ops = [Op(name=f"op{i}", kind=OpKind.RELU, inputs=list(ins), outputs=list(outs), attrs=None)
           for i, (ins, outs) in enumerate(nodes)]
    graph = Graph(tensors=tensors, ops=ops, inputs=["in"], outputs=["out"])
    lowered = [SimpleNamespace(op=o, alias_of=None, scratch_bytes=0, inplace_of=None, notes={}) for o in ops]
    return graph, lowered


def all_orders_peak(graph, lowered):
    model = schedule._model(graph, lowered)
    deps = schedule._deps(graph, lowered)
    best = None
    for perm in itertools.permutations(range(len(lowered))):
        pos = {o: k for k, o in enumerate(perm)}
        if all(pos[d] < pos[o] for o in perm for d in deps[o]):
            p = schedule.order_peak(list(perm), *model)
            best = p if best is None else min(best, p)
    return best


def test_reorder_runs_the_big_branch_first():
    # in -> x (128 B, kept until the join); in -> y -> z (256 B) -> w; join(x, w)
    sizes = {"in": 16, "x": 128, "y": 16, "z": 256, "w": 16, "out": 16}
    nodes = [(["in"], ["x"]), (["in"], ["y"]), (["y"], ["z"]), (["z"], ["w"]), (["x", "w"], ["out"])]
    graph, lowered = fake_graph(nodes, sizes)
    assert schedule.order_peak([0, 1, 2, 3, 4], *schedule._model(graph, lowered)) == 128 + 16 + 256
    order, peak = schedule.best_order(graph, lowered)
    assert peak == all_orders_peak(graph, lowered) == 16 + 256
    assert order == [1, 2, 3, 0, 4]


def test_reorder_is_exact_on_random_dags():
    rng = np.random.default_rng(3)
    for _ in range(25):
        n = int(rng.integers(3, 7))
        sizes = {"in": 16, "out": 16}
        nodes = []
        for i in range(n):
            avail = ["in"] + [f"t{j}" for j in range(i)]
            k = int(rng.integers(1, min(3, len(avail)) + 1))
            ins = list(rng.choice(avail, size=k, replace=False))
            out = "out" if i == n - 1 else f"t{i}"
            sizes[out] = sizes.get(out, int(rng.integers(1, 9)) * U)
            nodes.append((ins, [out]))
        used = {t for ins, _ in nodes for t in ins}
        nodes[-1] = (nodes[-1][0] + [f"t{j}" for j in range(n - 1) if f"t{j}" not in used], ["out"])
        graph, lowered = fake_graph(nodes, sizes)
        order, peak = schedule.best_order(graph, lowered)
        assert peak == all_orders_peak(graph, lowered)
        assert schedule.order_peak(order, *schedule._model(graph, lowered)) == peak


# ---- in-place kernels in C, on one buffer ---------------------------------------------------


@pytest.fixture(scope="module")
def inplace_c():
    from tinygen.verify.hostbuild import build_extension
    from tinygen.paths import runtime_file, runtime_include_dirs

    cdef = """
    int tg_inplace_conv1x1_s8(int8_t *scratch, int32_t input_offset, int32_t output_offset,
        int32_t act_min, int32_t act_max, const int32_t *mult, const int32_t *shift, int32_t per_channel,
        int32_t pixels, int32_t in_c, const int8_t *input, const int8_t *filter, const int32_t *bias,
        int32_t out_c, int8_t *output);
    int tg_inplace_depthwise_s8(int32_t stride_h, int32_t stride_w, int32_t dilation_h, int32_t dilation_w,
        int32_t pad_top, int32_t pad_left, int32_t input_offset, int32_t output_offset,
        int32_t act_min, int32_t act_max, const int32_t *mult, const int32_t *shift, int32_t per_channel,
        int32_t in_h, int32_t in_w, int32_t channels, const int8_t *input,
        int32_t filter_h, int32_t filter_w, const int8_t *filter, const int32_t *bias,
        int32_t out_h, int32_t out_w, int8_t *output);
    int tg_inplace_depthwise_rows_s8(int8_t *scratch, int32_t dilation_h, int32_t dilation_w,
        int32_t pad_top, int32_t pad_left, int32_t input_offset, int32_t output_offset,
        int32_t act_min, int32_t act_max, const int32_t *mult, const int32_t *shift, int32_t per_channel,
        int32_t in_h, int32_t in_w, int32_t channels, const int8_t *input,
        int32_t filter_h, int32_t filter_w, const int8_t *filter, const int32_t *bias, int8_t *output);
    """
    header = ('#include "tg_inplace_conv1x1_s8.h"\n#include "tg_inplace_depthwise_s8.h"\n'
              '#include "tg_inplace_depthwise_rows_s8.h"\n')
    return build_extension(cdef, header, [runtime_file("tg_inplace_conv1x1_s8.c"),
                                          runtime_file("tg_inplace_depthwise_s8.c"),
                                          runtime_file("tg_inplace_depthwise_rows_s8.c")], runtime_include_dirs())


def _rq(rng, channels):
    from tinygen.lower.conv import Requant
    from tinygen.quant import qmath

    mult, shift = qmath.quantize_multiplier_array(list(rng.uniform(0.001, 0.05, channels)))
    return Requant(mult, shift, True, int(rng.integers(-127, 129)), int(rng.integers(-128, 128)), -128, 127)


def _ptr(ffi, a, ctype="int8_t *"):
    return ffi.cast(ctype, ffi.from_buffer(a))


@pytest.mark.parametrize("in_c,out_c", [(8, 16), (16, 16), (16, 8), (3, 24), (24, 5)])
def test_conv1x1_in_place_matches_reference(inplace_c, in_c, out_c):
    from tinygen.ir import Conv2DAttrs
    from tinygen.lower.conv import conv2d_reference

    ffi, lib = inplace_c
    rng = np.random.default_rng(in_c * 100 + out_c)
    h, w = 5, 7
    x = rng.integers(-128, 128, (1, h, w, in_c)).astype(np.int8)
    filt = rng.integers(-127, 128, (out_c, 1, 1, in_c)).astype(np.int8)
    bias = rng.integers(-5000, 5000, out_c).astype(np.int32)
    rq = _rq(rng, out_c)
    ref = conv2d_reference(x, filt, bias, Conv2DAttrs(1, 1), rq, (1, h, w, out_c))
    buf = np.zeros(h * w * max(in_c, out_c), np.int8)
    buf[:x.size] = x.ravel()
    scratch = np.zeros(in_c, np.int8)
    mult, shift = rq.mult.astype(np.int32), rq.shift.astype(np.int32)
    st = lib.tg_inplace_conv1x1_s8(_ptr(ffi, scratch), rq.input_offset, rq.output_offset, rq.act_min, rq.act_max,
                                   _ptr(ffi, mult, "int32_t *"), _ptr(ffi, shift, "int32_t *"), 1,
                                   h * w, in_c, _ptr(ffi, buf), _ptr(ffi, filt), _ptr(ffi, bias, "int32_t *"),
                                   out_c, _ptr(ffi, buf))
    assert st == 0
    assert np.array_equal(buf[:ref.size], ref.ravel())


@pytest.mark.parametrize("hw,k,stride,pad", [((12, 10), 3, 2, (0, 0)), ((11, 9), 3, 2, (0, 0)),
                                             ((12, 12), 3, 2, (1, 1)), ((10, 10), 3, 1, (1, 1)),
                                             ((9, 8), 5, 2, (1, 1)), ((8, 8), 2, 2, (0, 0))])
def test_depthwise_in_place_exact_when_declared_safe(inplace_c, hw, k, stride, pad):
    from tinygen.ir import DepthwiseConv2DAttrs, Padding
    from tinygen.lower import inplace
    from tinygen.lower.conv import depthwise_reference

    ffi, lib = inplace_c
    rng = np.random.default_rng(hw[0] * 7 + k)
    (h, w), c = hw, 6
    oh = (h + 2 * pad[0] - k) // stride + 1
    ow = (w + 2 * pad[1] - k) // stride + 1
    attrs = DepthwiseConv2DAttrs(stride, stride, padding=Padding(pad[0], pad[0], pad[1], pad[1]))
    x = rng.integers(-128, 128, (1, h, w, c)).astype(np.int8)
    filt = rng.integers(-127, 128, (1, k, k, c)).astype(np.int8)
    bias = rng.integers(-5000, 5000, c).astype(np.int32)
    rq = _rq(rng, c)
    ref = depthwise_reference(x, filt, bias, attrs, rq, (1, oh, ow, c))
    buf = x.ravel().copy()
    mult, shift = rq.mult.astype(np.int32), rq.shift.astype(np.int32)
    st = lib.tg_inplace_depthwise_s8(stride, stride, 1, 1, pad[0], pad[1], rq.input_offset, rq.output_offset,
                                     rq.act_min, rq.act_max, _ptr(ffi, mult, "int32_t *"),
                                     _ptr(ffi, shift, "int32_t *"), 1, h, w, c, _ptr(ffi, buf), k, k,
                                     _ptr(ffi, filt), _ptr(ffi, bias, "int32_t *"), oh, ow, _ptr(ffi, buf))
    assert st == 0
    exact = np.array_equal(buf[:ref.size], ref.ravel())
    safe = inplace.depthwise_inplace_safe(h, w, oh, ow, k, k, attrs)
    if safe:
        assert exact
    if stride == 1:
        assert not safe and not exact  # stride 1 reads pixels it has already overwritten
    if stride == 2 and pad == (0, 0):
        assert safe


@pytest.mark.parametrize("hw,k,dil", [((7, 5), 3, 1), ((6, 9), 5, 1), ((8, 8), 3, 2), ((5, 4), 1, 1)])
def test_depthwise_rows_in_place_matches_reference(inplace_c, hw, k, dil):
    from tinygen.ir import DepthwiseConv2DAttrs, Padding
    from tinygen.lower.conv import depthwise_reference

    ffi, lib = inplace_c
    rng = np.random.default_rng(hw[0] * 13 + k + dil)
    (h, w), c = hw, 5
    pad = (k - 1) * dil // 2
    attrs = DepthwiseConv2DAttrs(1, 1, dilation_h=dil, dilation_w=dil,
                                 padding=Padding(pad, (k - 1) * dil - pad, pad, (k - 1) * dil - pad))
    x = rng.integers(-128, 128, (1, h, w, c)).astype(np.int8)
    filt = rng.integers(-127, 128, (1, k, k, c)).astype(np.int8)
    bias = rng.integers(-5000, 5000, c).astype(np.int32)
    rq = _rq(rng, c)
    ref = depthwise_reference(x, filt, bias, attrs, rq, (1, h, w, c))
    buf = x.ravel().copy()
    scratch = np.zeros((pad + 1) * w * c, np.int8)
    mult, shift = rq.mult.astype(np.int32), rq.shift.astype(np.int32)
    st = lib.tg_inplace_depthwise_rows_s8(_ptr(ffi, scratch), dil, dil, pad, pad, rq.input_offset,
                                          rq.output_offset, rq.act_min, rq.act_max,
                                          _ptr(ffi, mult, "int32_t *"), _ptr(ffi, shift, "int32_t *"), 1,
                                          h, w, c, _ptr(ffi, buf), k, k, _ptr(ffi, filt),
                                          _ptr(ffi, bias, "int32_t *"), _ptr(ffi, buf))
    assert st == 0
    assert np.array_equal(buf, ref.ravel())


# ---- shared models ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def planned(models_dir):
    from tinygen.compiler import load_model, lower

    out = {}
    for key, rel in MODELS.items():
        graph = load_model(models_dir / rel)
        lowered = lower(graph)
        g2, l2 = schedule.optimize(graph, lowered)
        out[key] = (graph, lowered, g2, l2, planner.plan(g2, l2))
    return out


def test_no_overlap_and_bounds_on_every_model(planned):
    for key, (graph, lowered, g2, l2, p) in planned.items():
        planner.check(p.buffers)
        assert p.arena_bytes >= p.lower_bound
        assert sorted(p.scratch) == [i for i, lop in enumerate(l2) if lop.scratch_bytes]  # scratch planned
        for i, off in p.scratch.items():  # and counted: it lies in the arena next to the op's tensors
            assert p.live[i] >= planner.align(l2[i].scratch_bytes)
        # every arena tensor and scratch lies inside the arena
        for b in p.buffers:
            assert 0 <= b.offset and b.offset + b.size <= p.arena_bytes, (key, b.name)
        # same op objects, a topological order
        seen = set(g2.inputs) | {n for n, t in g2.tensors.items() if t.is_const}
        for op in g2.ops:
            assert all(t is None or t in seen for t in op.inputs), key
            seen.update(op.outputs)
        assert sorted(id(o) for o in g2.ops) == sorted(id(o) for o in graph.ops)


def test_arena_against_tflm(planned):
    ours = {k: v[4].arena_bytes for k, v in planned.items()}
    for key, size in ours.items():
        assert size <= TFLM_HEAD[key], (key, size)
    assert sum(ours.values()) <= 0.9 * sum(TFLM_HEAD.values())
    assert ours["vww"] < 55296 and ours["person_detect"] < 55296


def test_in_place_declarations_are_honoured(planned):
    for key in ("vww", "person_detect", "kws"):
        *_, l2, p = planned[key]
        declared = [i for i, lop in enumerate(l2) if lop.inplace_of is not None]
        assert declared and p.inplace == declared
        for i in declared:
            x, y = l2[i].op.inputs[0], l2[i].op.outputs[0]
            assert p.storage[x] == p.storage[y]


@pytest.mark.parametrize("key", ["vww", "person_detect", "sww", "kws"])
def test_in_place_models_bit_exact_with_tflm(planned, models_dir, key, tmp_path):
    from oracle import tflm_interpreter

    from tinygen.codegen import model as codegen
    from tinygen.verify.host import HostModel

    *_, g2, l2, p = planned[key]
    assert p.inplace
    files = codegen.render(g2, l2, p, name=key)
    codegen.write(files, tmp_path)
    ins = [(g2.tensors[t].shape, g2.tensors[t].dtype) for t in g2.inputs]
    outs = [(g2.tensors[t].shape, g2.tensors[t].dtype) for t in g2.outputs]
    model = HostModel(tmp_path, key, ins, outs)
    interp = tflm_interpreter(models_dir / MODELS[key])
    rng = np.random.default_rng(11)
    shape = ins[0][0]
    samples = [rng.integers(-128, 128, size=shape).astype(np.int8) for _ in range(8)]
    samples += [np.full(shape, -128, np.int8), np.full(shape, 127, np.int8)]
    differing = 0
    for x in samples:
        ours = model([x])[0]
        interp.set_input(x, 0)
        interp.invoke()
        ref = np.asarray(interp.get_output(0))
        differing += int(np.count_nonzero(ours.reshape(ref.shape) != ref))
    assert differing == 0
