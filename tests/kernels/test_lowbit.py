"""Low-bit weight schemes: quantizers, packing, and the tg_*_lb C kernels against their references."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tinygen.errors import TinygenError, UnsupportedError
from tinygen.verify.hostbuild import KERNEL_PATHS
from tinygen.ir import Activation, OpKind, QuantParams
from tinygen.lower import lowbit
from tinygen.lower.base import lower_op
from tinygen.quant import weights as wq

from test_kernels_conv import CONV_CASES, DW_CASES, FC_CASES, Case, build, sample_inputs

LOWBIT = ("int4", "kmeans4", "kmeans3", "kmeans2", "ternary", "binary")


def restrict(values: np.ndarray, scheme: str, rng) -> np.ndarray:
    """Map arbitrary int8 test weights onto values `scheme` can store."""
    v = values.astype(np.int16)
    if scheme == "int4":
        return (v // 16).astype(np.int8)
    if scheme == "ternary":
        return np.where(np.abs(v) < 40, 0, np.sign(v)).astype(np.int8)
    if scheme == "binary":
        return np.where(v >= 0, 1, -1).astype(np.int8)
    k = 1 << wq.palette_bits(scheme)
    book = np.sort(rng.choice(np.arange(-127, 128), size=k, replace=False)).astype(np.int8)
    return book[rng.integers(0, k, size=values.shape)]


@dataclasses.dataclass(frozen=True)
class TinyOutCase(Case):
    """A case whose output scale is divided by 2^30: multipliers shifting left by about 21 bits, so the
    accumulator bound rules out the decode-once kernels' exact records (the packed kernels run)."""


def encoded(cases: list, scheme: str, seed: int = 0):
    graph = build(cases, seed)
    rng = np.random.default_rng(seed + 100)
    for case, op in zip(cases, graph.ops):
        w = graph.tensors[op.inputs[1]]
        graph.tensors[w.name] = dataclasses.replace(w, data=restrict(w.data, scheme, rng), encoding=scheme)
        if isinstance(case, TinyOutCase):
            y = graph.tensors[op.outputs[0]]
            q = QuantParams.make(float(y.scale) * 2.0 ** -30, y.quant.zero_point[0])
            graph.tensors[y.name] = dataclasses.replace(y, quant=q)
    return graph


# ---- packing --------------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", LOWBIT)
@pytest.mark.parametrize("n", [1, 7, 8, 9, 27, 64])
def test_pack_unpack_roundtrip(scheme, n):
    rng = np.random.default_rng(n)
    rows = restrict(rng.integers(-127, 128, size=(5, n)).astype(np.int8), scheme, rng)
    packed, book = lowbit.pack_rows(rows, scheme)
    bits = wq.BITS[scheme]
    assert packed.dtype == np.uint8
    assert packed.shape[1] == (-(-n * bits // 8) if scheme != "ternary" else 2 * -(-n // 8))
    assert np.array_equal(lowbit.unpack_rows(packed, n, scheme, book), rows)


def test_int4_nibble_order_and_sign():
    packed, _ = lowbit.pack_rows(np.array([[1, -1, -8, 7, 0]], np.int8), "int4")
    assert packed.tolist() == [[0xF1, 0x78, 0x00]]  # low nibble first, two's complement


def test_ternary_and_binary_bit_planes():
    packed, _ = lowbit.pack_rows(np.array([[1, 0, -1, -1, 0, 0, 0, 0, 1]], np.int8), "ternary")
    assert packed.tolist() == [[0b00001101, 0b1, 0b00001100, 0b0]]  # non-zero plane, then sign plane
    packed, _ = lowbit.pack_rows(np.array([[1, -1, 1, 1, -1, -1, -1, -1, 1]], np.int8), "binary")
    assert packed.tolist() == [[0b00001101, 0b1]]


def test_palette_indices_cross_byte_boundaries():
    rows = np.array([[5, -3, 9, 100, -3, 5, 9, 100]], np.int8)  # 3-bit indices straddle bytes
    packed, book = lowbit.pack_rows(rows, "kmeans3")
    assert book.tolist() == [-3, 5, 9, 100, 0, 0, 0, 0]
    idx = [1, 0, 2, 3, 0, 1, 2, 3]
    want = sum(i << (3 * j) for j, i in enumerate(idx)).to_bytes(3, "little")
    assert bytes(packed[0]) == want


def test_lowbit_multipliers_are_tflms_in_19_bits():
    """Low-bit layers keep TFLM's multipliers (the int8 conv's) in 19 bits: exactly once the filter scales are
    snapped (tinygen/quant/snap.py), else rounded to nearest; the 3-byte form decodes back to them."""
    from tinygen.ir import Conv2DAttrs, Op, Tensor
    from tinygen.lower import conv
    from tinygen.quant import snap

    x = Tensor("x", (1, 4, 4, 3), "int8", QuantParams.make(0.0213, -3))
    y = Tensor("y", (1, 4, 4, 5), "int8", QuantParams.make(0.0731, 9))
    raw = np.array([1.3e-5, 0.00031, 0.251, 0.517, 1.7], np.float32)
    for scales, exact in ((snap.snap(0.0213, raw, 0.0731), True), (raw, False)):
        w = Tensor("w", (5, 1, 1, 3), "int8", QuantParams.make(scales, 0, 0), np.ones((5, 1, 1, 3), np.int8),
                   "ternary")
        op = Op(OpKind.CONV_2D, "c", ["x", "w", None], ["y"], Conv2DAttrs(1, 1))
        rq, lo, code = lowbit._requant(op, x, w, y, 5)
        want = conv.conv_requant(op, x, w, y, 5, 0)
        assert lo.dtype == np.int16 and code.dtype == np.int8
        assert (rq.mult.astype(np.int64) == want.mult).all() == exact
        assert np.abs(rq.mult.astype(np.int64) - want.mult).max() <= 1 << 11  # rounded to nearest
        # the C's decode (tg_lb_mult / tg_lb_shift), written from tg_lowbit.h's description
        c = code.view(np.uint8).astype(np.int64)
        dec = np.where((c & 63) == 63, 0, ((1 << 18) | ((c >> 6) << 16) | lo.view(np.uint16)) << 12)
        assert dec.tolist() == rq.mult.tolist() and np.where((c & 63) == 63, 0, (c & 63) - 31).tolist() == rq.shift.tolist()


def test_multiplier_codes_at_the_edges():
    m, s = lowbit.round_multipliers([0, (1 << 31) - 1, 1 << 30, (1 << 30) + 4095], [5, -40, -31, 30])
    assert m.tolist() == [0, 1 << 30, 1 << 30, (1 << 30) + 4096] and s.tolist() == [0, -31, -31, 30]
    lo, code = lowbit.encode_multipliers(m, s)
    assert code.view(np.uint8).tolist() == [63, 0, 0, (0 << 6) | 61] and lo.view(np.uint16).tolist() == [0, 0, 0, 1]
    with pytest.raises(ValueError):
        lowbit.encode_multipliers([(1 << 30) + 1], [0])


# ---- quantizers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", wq.SCHEMES)
def test_quantize_values_fit_scheme(scheme):
    rng = np.random.default_rng(0)
    w = rng.normal(0, 0.1, size=(6, 3, 3, 5)).astype(np.float32)
    res = wq.quantize(w, 0, scheme)
    assert res.values.dtype == np.int8 and res.values.shape == w.shape
    assert wq.allowed(res.values, scheme)
    assert res.scales.shape == (6,) and (res.scales > 0).all()
    err = np.mean((res.values * res.scales[:, None, None, None] - w) ** 2)
    assert err < np.mean(w ** 2)  # better than all-zero weights


def test_error_shrinks_with_bits():
    w = np.random.default_rng(1).normal(0, 1, size=(16, 200))
    errs = {s: np.mean((wq.quantize(w, 0, s).values * wq.quantize(w, 0, s).scales[:, None] - w) ** 2)
            for s in wq.SCHEMES}
    assert errs["int8"] < errs["int4"] < errs["kmeans2"]
    assert errs["kmeans4"] < errs["kmeans3"] < errs["kmeans2"] < errs["binary"]
    assert errs["ternary"] < errs["binary"]


def test_ternary_is_the_least_squares_optimum():
    """Against a brute force over every threshold and every scale on small vectors."""
    rng = np.random.default_rng(2)
    for _ in range(20):
        w = rng.normal(0, 1, size=(1, 9))
        res = wq.quantize(w, 0, "ternary")
        got = np.sum((res.values * res.scales[0] - w) ** 2)
        best = np.inf
        for t in np.abs(w).ravel():
            q = np.where(np.abs(w) >= t, np.sign(w), 0)
            a = np.sum(np.abs(w) * np.abs(q)) / np.sum(np.abs(q))
            best = min(best, np.sum((q * a - w) ** 2))
        assert got <= best * (1 + 1e-6) + 1e-12


def test_scale_floor_is_respected():
    w = np.random.default_rng(3).normal(0, 0.01, size=(4, 10))
    floor = np.array([0, 1.0, 0, 5.0])
    for s in wq.SCHEMES:
        res = wq.quantize(w, 0, s, min_scale=floor)
        assert (res.scales >= floor * (1 - 1e-6)).all(), s


def test_kmeans_1d_finds_separated_clusters():
    v = np.concatenate([np.full(50, -3.0), np.full(30, 0.5), np.full(20, 4.0)])
    assert np.allclose(wq.kmeans_1d(v, 3), [-3.0, 0.5, 4.0])


def test_unknown_scheme_is_one_clear_error():
    with pytest.raises(TinygenError, match="unknown weight scheme 'int3'"):
        wq.check_scheme("int3", "--weights")


# ---- C kernels vs references ---------------------------------------------------------------------

_EXTRA_DW = [  # 4-channel blocks (the SIMD depthwise path) with dilation, stride, padding and batches
    Case(OpKind.DEPTHWISE_CONV_2D, (1, 9, 9, 8), dilation=(2, 2), act=Activation.RELU6),
    Case(OpKind.DEPTHWISE_CONV_2D, (2, 7, 6, 12), stride=(2, 2), kernel=(3, 2), zp_in=-128),
    Case(OpKind.DEPTHWISE_CONV_2D, (1, 6, 8, 8), kernel=(1, 3), stride=(1, 2), same=False, zp_out=127),
]
_EXTRA_CONV = [  # in_c = 1 with a tall filter (window gathered whole), and long rows
    Case(OpKind.CONV_2D, (1, 12, 6, 1), out_c=8, kernel=(5, 3), stride=(2, 2), zp_in=-128),
    Case(OpKind.CONV_2D, (1, 5, 5, 24), out_c=7, kernel=(3, 3), dilation=(1, 2), zp_in=127),
    # rows of a multiple of 4 read in place (whole rows inside, single taps at the borders), batches 2
    Case(OpKind.CONV_2D, (2, 7, 6, 8), out_c=9, kernel=(3, 3), stride=(2, 1), act=Activation.RELU),
    # channels off a multiple of 4: the window is gathered and padded to a multiple of 4 (n = 36, 63)
    Case(OpKind.CONV_2D, (1, 6, 7, 6), out_c=5, kernel=(2, 3), zp_in=-128),
    Case(OpKind.CONV_2D, (1, 6, 6, 7), out_c=4, kernel=(3, 3), dilation=(2, 1), zp_in=127, zp_out=-128),
    # gathered windows with every block decoded up front (tg_conv2d_lb_all_rows), a partial last block
    Case(OpKind.CONV_2D, (1, 12, 10, 1), out_c=12, kernel=(4, 3), stride=(2, 1), zp_in=-128),
    Case(OpKind.CONV_2D, (2, 10, 10, 3), out_c=10, kernel=(3, 3), act=Activation.RELU, zp_in=127),
]
_CASES = {"conv2d": [c for c in CONV_CASES if c.groups == 1] + _EXTRA_CONV,
          "depthwise": DW_CASES + _EXTRA_DW,
          "fc": [c for c in FC_CASES if c.w_zp == 0]}


@pytest.fixture(params=["decoded", "packed"])
def mode(request, monkeypatch):
    """decoded: tg_lowbit_x.h (decode once, the int8 fast kernel) wherever it applies; packed: tg_lowbit.h's kernels."""
    from tinygen.lower import lowbit_x

    monkeypatch.setattr(lowbit_x, "ENABLED", request.param == "decoded")
    return request.param


@pytest.mark.parametrize("kernel_path", KERNEL_PATHS)  # the tg_*_lb.c SIMD: plain C, or the DSP emulated
@pytest.mark.parametrize("family", sorted(_CASES))
def test_c_matches_reference(family, kernel_path, mode):
    """Every scheme's layers of the family side by side in one graph (one host build, not one per scheme)."""
    from tinygen.verify.testing import run_c, run_reference
    from test_dsp_emulation import merge  # it imports this module

    cases = _CASES[family]
    graph = merge([encoded(cases, scheme) for scheme in LOWBIT], name=f"lowbit_{family}")
    assert len(graph.ops) == len(LOWBIT) * len(cases) and len(graph.outputs) == len(graph.ops)
    for k, op in enumerate(graph.ops):
        case, scheme = cases[k % len(cases)], LOWBIT[k // len(cases)]
        lop = lower_op(op, graph)
        x, w = graph.tensors[op.inputs[0]], graph.tensors[op.inputs[1]]
        if op.kind == OpKind.DEPTHWISE_CONV_2D:  # where the int8 fast depthwise kernel takes the layer
            fits = op.attrs.depth_multiplier == 1 and x.shape[3] % 4 == 0
        elif op.kind == OpKind.CONV_2D:  # unless the records cannot be exact (the saturating case)
            fits = not isinstance(case, TinyOutCase)
        else:  # fc: input rows read 4 values at a time, or (below 4 bits a value) run as a 1x1 conv
            fits = w.shape[1] % 4 == 0 or scheme in ("kmeans3", "kmeans2", "ternary")
        want = "_lbx" if fits and mode == "decoded" else "_lb"
        if want == "_lbx" and op.kind == OpKind.FULLY_CONNECTED and scheme in ("kmeans3", "kmeans2", "ternary"):
            want = "tg_conv2d_lbx"
        if mode == "decoded" and scheme == "binary" and (op.kind == OpKind.FULLY_CONNECTED or want == "_lbx") \
                and op.kind != OpKind.DEPTHWISE_CONV_2D:
            want = "_usad"  # tg_conv2d_usad, conv and fc (test_lowbit_usad.py)
        if mode == "decoded" and scheme == "ternary" and op.kind != OpKind.DEPTHWISE_CONV_2D and fits and \
                _usad_ternary_rule(op, x, w, graph.tensors[op.outputs[0]]):
            want = "_usad_t"  # tg_conv2d_usad_t, tg_fully_connected_usad_t (test_lowbit_usad.py)
        assert lop.c_function.endswith(want), (op.name, lop.c_function)
    rng = np.random.default_rng(4)
    for fill in (None, None, -128, 127):
        xs = sample_inputs(graph, rng, fill)
        want = run_reference(graph, xs)
        got = run_c(graph, xs, kernel_path=kernel_path)
        for k, (w, g) in enumerate(zip(want, got)):
            bad = int(np.count_nonzero(w != g))
            scheme, i = LOWBIT[k // len(cases)], k % len(cases)
            assert bad == 0, f"{kernel_path}: {scheme} case {i} {cases[i]} fill={fill}: {bad} of {w.size} bytes differ"


_EXTRA_DW += [  # 3x3 rows copied padded (stride 2 with an odd width, dilation 2 with 'valid', 12 channels)
    Case(OpKind.DEPTHWISE_CONV_2D, (1, 5, 7, 8), stride=(2, 2), zp_in=-128),
    Case(OpKind.DEPTHWISE_CONV_2D, (2, 9, 8, 12), dilation=(1, 2), same=False, zp_in=127, act=Activation.RELU),
    Case(OpKind.DEPTHWISE_CONV_2D, (1, 1, 3, 4), zp_out=127),  # one row: top and bottom taps in the padding
]
_CASES["depthwise"] = DW_CASES + _EXTRA_DW
# int4 rows of a multiple of 4 values (decoded 4 at a time) next to ones that are not
_CASES["conv2d"] = _CASES["conv2d"] + [Case(OpKind.CONV_2D, (1, 4, 5, 4), out_c=9, kernel=(1, 3), stride=(1, 2))]
# 4-bit rows in pair order (tg_lowbit_x.h): the pair table with an even (n = 90, 2 values after the last full
# group) and an odd (n = 63, 3 after) number of full groups, and lut decoding with 1 value after (n = 9)
_CASES["conv2d"] = _CASES["conv2d"] + [Case(OpKind.CONV_2D, (1, 5, 5, 10), out_c=12, kernel=(3, 3), zp_in=-128),
                                       Case(OpKind.CONV_2D, (1, 5, 5, 7), out_c=20, kernel=(3, 3), zp_in=127),
                                       Case(OpKind.CONV_2D, (1, 6, 6, 1), out_c=5, kernel=(3, 3), zp_in=-128),
                                       # an odd number of full groups then 1 / 2 values (3-bit: a field mid-byte)
                                       Case(OpKind.CONV_2D, (1, 5, 5, 5), out_c=4, kernel=(3, 3), zp_in=127),
                                       Case(OpKind.CONV_2D, (1, 4, 6, 10), out_c=4, kernel=(1, 3), zp_in=-128)]
# records that cannot be exact: the packed conv kernel runs (also in test_dsp_emulation.py's merged plan)
_CASES["conv2d"] = _CASES["conv2d"] + [TinyOutCase(OpKind.CONV_2D, (1, 5, 6, 8), out_c=6, kernel=(3, 3))]


def _usad_ternary_rule(op, x, w, y) -> bool:
    """lowbit_usad's rule for ternary conv / fc, restated: a conv of >= 2 output pixels takes tg_conv2d_usad_t,
    every fc a USADA8 kernel (tg_fully_connected_usad_t for one batch, else the conv kernel over batches)."""
    return op.kind == OpKind.FULLY_CONNECTED or int(np.prod(y.shape[:3])) >= 2


def _large_multipliers(graph, rng, huge: bool):
    """Output scales that make the channels' multipliers straddle 1 (left and right shifts in one block of
    4 channels), or, with `huge`, about 2^12 (the accumulator bound then rules out the pre-shifted record),
    with small biases; inputs near the zero point keep the outputs off the clamp."""
    for op in graph.ops:
        x, w, y = (graph.tensors[n] for n in (op.inputs[0], op.inputs[1], op.outputs[0]))
        ws = np.asarray(w.quant.scale, np.float64)
        scale = float(x.scale) * float(np.mean(ws)) * (2.0 ** -12 if huge else 1.0)
        graph.tensors[y.name] = dataclasses.replace(y, quant=QuantParams.make(scale, y.quant.zero_point[0]))
        if len(op.inputs) > 2:
            b = graph.tensors[op.inputs[2]]
            graph.tensors[b.name] = dataclasses.replace(b, data=rng.integers(-20, 21, size=b.data.shape).astype(np.int32))
    xs = []
    for name in graph.inputs:
        t = graph.tensors[name]
        zp = int(np.asarray(t.quant.zero_point).ravel()[0])
        xs.append(np.clip(zp + rng.integers(-3, 4, size=t.shape), -128, 127).astype(np.int8))
    return xs


@pytest.mark.parametrize("kernel_path", KERNEL_PATHS)
@pytest.mark.parametrize("huge", [False, True], ids=["straddle", "huge"])
def test_c_matches_reference_with_left_shifts(huge, kernel_path, mode):
    """Blocks whose channels shift left (records with a pre shift, or for ternary and binary weights decoded
    as +-2^k and shifts all right), and ones the bound sends to the per-output path, on conv (gathered, in
    place, 1x1), depthwise (3x3 and other filters) and fc; int4, kmeans3, ternary and binary side by side in
    one graph (one host build)."""
    from tinygen.verify.testing import run_c, run_reference
    from test_dsp_emulation import merge  # it imports this module

    schemes = ("int4", "kmeans3", "ternary", "binary")
    cases = [_CASES["conv2d"][i] for i in (0, 6, 13, 16)] + [DW_CASES[0], _EXTRA_DW[2], _EXTRA_DW[3], _CASES["fc"][0]]
    rng = np.random.default_rng(6)
    graphs, xs = [], []
    for scheme in schemes:
        graphs.append(encoded(cases, scheme, seed=3))
        xs += _large_multipliers(graphs[-1], rng, huge)
    graph = merge(graphs, name="lowbit_shifts")
    for k, op in enumerate(graph.ops):  # ternary and binary decode as +-2^k: every record shifts right
        lop = lower_op(op, graph)
        if mode == "decoded" and not huge and lop.c_function.endswith("_lbx") and schemes[k // len(cases)] in (
                "ternary", "binary"):
            assert "weight values" in lop.notes and lop.notes["rq_words"] == 5, (op.name, lop.notes)
    want = run_reference(graph, xs)
    got = run_c(graph, xs, kernel_path=kernel_path)
    assert len(want) == len(schemes) * len(cases)
    for k, (w, g) in enumerate(zip(want, got)):
        scheme, i = schemes[k // len(cases)], k % len(cases)
        assert huge or np.count_nonzero((w > -128) & (w < 127)) > w.size // 8, f"{scheme} case {i} mostly clamped"
        assert np.array_equal(w, g), f"{kernel_path}: {scheme} case {i} {cases[i]}: {np.count_nonzero(w != g)} differ"


@pytest.mark.parametrize("scheme", LOWBIT)
def test_reference_equals_int8_reference_on_decoded_weights(scheme):
    """The packed reference equals the plain int8 reference run with the same weights and multipliers."""
    from tinygen.lower import conv

    graph = encoded(CONV_CASES[:4] + DW_CASES[:2], scheme, seed=7)
    rng = np.random.default_rng(5)
    for op in graph.ops:
        lop = lower_op(op, graph)
        x = rng.integers(-128, 128, size=graph.tensors[op.inputs[0]].shape, dtype=np.int8)
        rq, _, _ = lowbit._requant(op, graph.tensors[op.inputs[0]], graph.tensors[op.inputs[1]],
                                   graph.tensors[op.outputs[0]], graph.tensors[op.outputs[0]].shape[-1])
        w = graph.tensors[op.inputs[1]].data
        b = graph.tensors[op.inputs[2]].data if len(op.inputs) > 2 else None
        y = graph.tensors[op.outputs[0]]
        ref = conv.conv2d_reference if op.kind == OpKind.CONV_2D else conv.depthwise_reference
        assert np.array_equal(lop.reference([x])[0], ref(x, w, b, op.attrs, rq, y.shape))


def test_conv_scratch_modes():
    """One block of decoded rows, or every block when the windows are gathered and it fits the output."""
    assert lowbit.conv_scratch((12, 4, 3, 1), 6 * 10 * 12) == 3 * (8 * 12 + lowbit.RQ_BLOCK_BYTES) + 12
    assert lowbit.conv_scratch((12, 4, 3, 1), 100) == 9 * 12  # too big for the output: one block at a time
    assert lowbit.conv_scratch((64, 1, 1, 64), 10 ** 6) == 9 * 64  # rows read in place: one block
    assert lowbit.conv_scratch((4, 3, 3, 3), 10 ** 6) == 9 * 28  # a single block


def test_depthwise_scratch():
    """Decoded taps rounded up to 4 bytes; 3x3 filters add 3 padded rows of 4 channels' words."""
    from tinygen.ir import DepthwiseConv2DAttrs, Padding

    a = DepthwiseConv2DAttrs(2, 2, 1, 1, 3, Padding(1, 1, 1, 1), Activation.NONE)
    assert lowbit.dw_scratch((1, 3, 3, 8), a, (1, 4, 5, 8)) == 84 + 12 * (4 * 2 + 2 * 3 + 1)
    assert lowbit.dw_scratch((1, 5, 2, 8), a, (1, 4, 5, 8)) == 92


def test_grouped_conv_is_refused_by_name():
    graph = encoded([c for c in CONV_CASES if c.groups > 1], "int4")
    with pytest.raises(UnsupportedError, match="conv_2d_0.*ungrouped"):
        lower_op(graph.ops[0], graph)


def test_values_outside_the_scheme_are_refused():
    graph = encoded(CONV_CASES[:1], "binary")
    w = graph.tensors[graph.ops[0].inputs[1]]
    graph.tensors[w.name] = dataclasses.replace(w, data=np.zeros_like(w.data))
    with pytest.raises(UnsupportedError, match="binary cannot store"):
        lower_op(graph.ops[0], graph)


def test_weight_shift_choice():
    """lowbit_x.weight_shift: 0 unless a live channel shifts left; else the largest k up to that shift + 8 and
    6 (+-2^k an int8 value, as the exported .tflite holds it) that the accumulator bound allows and that leaves
    every shift right and >= -31."""
    from tinygen.lower import conv, lowbit_x

    rows = np.array([[1, 0, -1, 1], [0, 0, 1, -1]], np.int8)

    def rq(shifts, mult=(1 << 30, 1 << 30)):
        return conv.Requant(np.array(mult, np.int32), np.array(shifts, np.int32), True, 128, 0, -128, 127)

    conv_k, fc_k = OpKind.CONV_2D, OpKind.FULLY_CONNECTED
    assert lowbit_x.weight_shift(conv_k, 2, rows, None, rq([-3, -1])) == 0  # every channel shifts right
    assert lowbit_x.weight_shift(conv_k, 0, rows, None, rq([2, -1])) == 0  # int4: not scaled
    assert lowbit_x.weight_shift(conv_k, 2, rows, None, rq([2, -1])) == 6  # at most +-64
    assert lowbit_x.weight_shift(conv_k, 3, rows, None, rq([-1, 0])) == 6
    assert lowbit_x.weight_shift(fc_k, 2, rows, None, rq([2, -1])) == 6
    assert lowbit_x.weight_shift(conv_k, 2, rows, None, rq([6, -1])) == 0  # a left shift of 6 needs k > 6
    assert lowbit_x.weight_shift(conv_k, 2, rows, None, rq([5, -1])) == 6
    assert lowbit_x.weight_shift(conv_k, 2, rows, None, rq([0, 5], mult=(1 << 30, 0))) == 6  # dead channel
    assert lowbit_x.weight_shift(conv_k, 2, rows, None, rq([2, -27])) == 4  # shifts stay >= -31
    assert lowbit_x.weight_shift(conv_k, 2, rows, np.array([2 ** 26, 0]), rq([2, -1])) == 4  # bound < 2^31
    assert lowbit_x.weight_shift(conv_k, 2, rows, np.array([2 ** 28, 0]), rq([2, -1])) == 0  # none fits
