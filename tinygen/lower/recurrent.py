"""UNIDIRECTIONAL_SEQUENCE_LSTM, int8 (int16 cell state) and 16x8, with TFLM's integer arithmetic.

Per time step and gate (input, forget, cell, output): two fully-connected products requantized apart
to int16 at scale 2^-12, x with the gate's weights and bias, h with its recurrent weights and no bias
(each MultiplyByQuantizedMultiplier with s_in * s_w / 2^-12, saturated), added with saturation, then
sigmoid (tanh for the cell gate) in Q0.15. c = sat(f * c) + sat(i * g) (products requantized to the
cell scale), clipped when cell_clip > 0; h = o * tanh(c) requantized to h's scale and zero point.
Offline: the input offsets are folded into the biases (bias - zp * row sums; the recurrent part
gets its own folded bias; TFLM applies x's and h's zero points for int16 activations too and ignores
the cell state's), weights are padded to multiples of 4 values per row and stored in
blocks of 4 rows and pre-extended to int16 pairs (tg_lstm.h); the multipliers, tanh scaling and clip
bound are precomputed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygen.errors import UnsupportedError
from tinygen.ir import Graph, Op, OpKind
from tinygen.lower.base import ConstArg, ConstArray, Kernel, Literal, LoweredOp, ScratchArg, TensorArg, register
from tinygen.lower.int16 import mbqm_int64
from tinygen.lower.int16_act import SIGMOID_TABLE_U16, checked_log2, sigmoid16_reference
from tinygen.ops.recurrent import BIAS, C, GATES, H, WH, WX, X, sizes
from tinygen.quant import qmath

I16 = (-(1 << 15), (1 << 15) - 1)
GATE_SCALE = 2.0 ** -12  # the gates' pre-activation scale (Q3.12)
ACT_SCALE = 2.0 ** -15  # the gates' output scale (Q0.15)
MAX_SHIFT_64 = 14  # the int64 requantize shifts right by 15 - shift, which must stay >= 1
# the int32 parameter block of tg_lstm.h: per gate (input, forget, cell, output) the input-side and
# recurrent-side (multiplier, shift), then these words
Q_FC, Q_IC, Q_HO = 16, 18, 20  # (mult, shift) of f * c -> c, i * g -> c, o * tanh(c) -> h
Q_HZP, Q_CLIP = 22, 25  # h's zero point, min, max; the quantized cell clip (-1: none; 0 clips to 0)
Q_CELL_TANH, Q_SIGMOID, Q_GATE_TANH = 26, 28, 30  # (input_mult, input_shift) of the three activations
Q_WORDS = 32
_DTYPES = {"int8": ("int8", "int32"), "int16": ("int16", "int64")}  # activations -> (state h, bias)


def _fail(op: Op, why: str) -> UnsupportedError:
    return UnsupportedError(f"layer '{op.name}' ({op.kind.value}): {why}")


@dataclass
class LstmPlan:
    """Everything the C kernel and the NumPy reference share, precomputed from one op."""
    batch: int
    steps: int
    features: int
    units: int
    time_major: bool
    wide: bool  # 16x8 (int64 accumulators and bias)
    wx: list  # per gate (units, features) int16: the weights minus their zero point
    wh: list  # per gate (units, units) int16
    bx: np.ndarray  # (4, units) folded input-side bias (int64 values)
    bh: np.ndarray  # (4, units) folded recurrent-side bias
    q: np.ndarray  # Q_WORDS int32: the parameter block of tg_lstm.h

    @property
    def macs(self) -> int:
        return self.batch * self.steps * 4 * self.units * (self.features + self.units)


def _per_tensor(op: Op, t, role: str, symmetric: bool = False) -> None:
    if t.quant is None or t.quant.per_axis:
        raise _fail(op, f"{role} '{t.name}' needs per-tensor quantization")
    if symmetric and t.zero_point != 0:
        raise _fail(op, f"{role} '{t.name}' must have zero point 0, got {t.zero_point}")


def _check_types(op: Op, graph: Graph) -> tuple:
    x, h, c = (graph.tensors[op.inputs[k]] for k in (X, H, C))
    y = graph.tensors[op.outputs[0]]
    if x.dtype not in _DTYPES:
        raise _fail(op, f"input type {x.dtype} is not supported (int8 or int16 activations)")
    h_type, b_type = _DTYPES[x.dtype]
    if (y.dtype, h.dtype, c.dtype) != (x.dtype, h_type, "int16"):
        raise _fail(op, f"output / hidden / cell state types {y.dtype} / {h.dtype} / {c.dtype} must be "
                        f"{x.dtype} / {h_type} / int16")
    wide = x.dtype == "int16"
    for t, role in ((x, "input"), (h, "hidden state"), (c, "cell state")):
        _per_tensor(op, t, role)  # the output holds h's bytes whatever its own parameters say (as TFLM)
    for k in range(WX, H):
        t = graph.tensors[op.inputs[k]]
        role = f"{GATES[(k - WX) % 4]} gate {'bias' if k >= BIAS else 'weights'}"
        want = b_type if k >= BIAS else "int8"
        if t.dtype != want or t.data is None:
            raise _fail(op, f"{role} '{t.name}' must be a constant {want} tensor, got {t.dtype}")
        if k < BIAS:
            _per_tensor(op, t, role)
    return x, h, c, y, wide


def _gate_multiplier(op: Op, s_in: float, s_w: float, wide: bool) -> tuple:
    mult, shift = qmath.quantize_multiplier(float(np.float32(s_in)) * float(np.float32(s_w)) / GATE_SCALE)
    if wide and shift > MAX_SHIFT_64:
        raise _fail(op, f"gate rescale s_in * s_w / 2^-12 = 2^{shift} is too large for the int64 requantize")
    return mult, shift


def _mul_multiplier(s1: float, s2: float, s_out: float) -> tuple:
    """TFLM CreateInterGateMulParams: (double(s1) * double(s2)) / double(s_out)."""
    return qmath.quantize_multiplier(float(np.float32(s1)) * float(np.float32(s2)) / float(np.float32(s_out)))


def tanh_params(cell_scale: float) -> tuple:
    """(input_mult, input_shift) of tanh(c): c's scale is taken as 2^round(log2 s_c), as TFLM does."""
    power, _ = checked_log2(cell_scale)
    left = 15 + power - 3
    return (3 << left, 0) if left >= 0 else (3, -left)


def plan_lstm(op: Op, graph: Graph) -> LstmPlan:
    x, h, c, y, wide = _check_types(op, graph)
    batch, steps, features, units = sizes(op, graph)
    # TFLM's FC: sum (w - wz)(v - vz) + bias, the input offsets applied for int16 activations too. The
    # weights are stored pre-extended to int16, so they are stored centred (w - wz, in [-255, 255]; w for
    # the symmetric weights TF writes) and vz folded into the bias: sum (w - wz) v - vz sum (w - wz) + bias
    wx, wh = ([np.asarray(graph.tensors[op.inputs[k + g]].data, np.int16) - graph.tensors[op.inputs[k + g]].zero_point
               for g in range(4)] for k in (WX, WH))
    bias = np.stack([np.asarray(graph.tensors[op.inputs[BIAS + g]].data, np.int64).reshape(-1) for g in range(4)])
    xz, hz = x.zero_point, h.zero_point
    bx = bias - xz * np.stack([w.astype(np.int64).sum(axis=1) for w in wx])
    bh = -hz * np.stack([w.astype(np.int64).sum(axis=1) for w in wh])
    if not wide:  # the C accumulators are int32 and wrap like TFLM's
        bx, bh = qmath.wrap_int32(bx), qmath.wrap_int32(bh)
    q = []
    for g in range(4):
        w_x, w_h = (graph.tensors[op.inputs[k + g]] for k in (WX, WH))
        q += [*_gate_multiplier(op, x.scale, w_x.scale, wide), *_gate_multiplier(op, h.scale, w_h.scale, wide)]
    fc = _mul_multiplier(ACT_SCALE, c.scale, c.scale)
    ic = _mul_multiplier(ACT_SCALE, ACT_SCALE, c.scale)
    ho = _mul_multiplier(ACT_SCALE, ACT_SCALE, h.scale)
    lo, hi = (-128, 127) if h.dtype == "int8" else I16
    clip = -1  # TFLM clips when the float cell_clip > 0, to its int16 truncation (0 for a clip below c's step)
    if op.attrs.cell_clip > 0:
        clip = int(np.trunc(min(max(float(np.float32(op.attrs.cell_clip)) / float(np.float32(c.scale)),
                                    -32768.0), 32767.0)))
    q += [*fc, *ic, *ho, h.zero_point, lo, hi, clip, *tanh_params(c.scale), 3, 0, *tanh_params(GATE_SCALE)]
    assert len(q) == Q_WORDS, len(q)
    return LstmPlan(batch, steps, features, units, op.attrs.time_major, wide, wx, wh, bx, bh,
                    np.asarray(q, np.int64).astype(np.int32))


# ---- NumPy reference ------------------------------------------------------------------------------


def _rescale(acc: np.ndarray, mult: int, shift: int, wide: bool) -> np.ndarray:
    out = mbqm_int64(acc, mult, shift) if wide else qmath.multiply_by_quantized_multiplier(acc, mult, shift)
    return np.clip(out, *I16)


def _mul(a: np.ndarray, b: np.ndarray, mult: int, shift: int, zp: int, lo: int, hi: int) -> np.ndarray:
    prod = a.astype(np.int64) * b.astype(np.int64)
    return np.clip(qmath.multiply_by_quantized_multiplier(prod, mult, shift) + zp, lo, hi)


def lstm_step(p: LstmPlan, xt: np.ndarray, h: np.ndarray, c: np.ndarray) -> tuple:
    """One time step for rows of x (batch, features) and states (batch, units): the new (h, c)."""
    q = [int(v) for v in p.q]
    gates = []
    for g in range(4):
        ax = xt.astype(np.int64) @ p.wx[g].astype(np.int64).T + p.bx[g]
        ah = h.astype(np.int64) @ p.wh[g].astype(np.int64).T + p.bh[g]
        if not p.wide:
            ax, ah = qmath.wrap_int32(ax), qmath.wrap_int32(ah)
        pre = _rescale(ax, q[4 * g], q[4 * g + 1], p.wide) + _rescale(ah, q[4 * g + 2], q[4 * g + 3], p.wide)
        act = Q_GATE_TANH if g == 2 else Q_SIGMOID
        gates.append(sigmoid16_reference(np.clip(pre, *I16), q[act], q[act + 1], is_tanh=g == 2))
    i, f, cg, o = gates
    c = np.clip(_mul(f, c, q[Q_FC], q[Q_FC + 1], 0, *I16) + _mul(i, cg, q[Q_IC], q[Q_IC + 1], 0, *I16), *I16)
    if q[Q_CLIP] >= 0:
        c = np.clip(c, -q[Q_CLIP], q[Q_CLIP])
    th = sigmoid16_reference(c, q[Q_CELL_TANH], q[Q_CELL_TANH + 1], is_tanh=True)
    h = _mul(th, o, q[Q_HO], q[Q_HO + 1], q[Q_HZP], q[Q_HZP + 1], q[Q_HZP + 2])
    return h, c


def lstm_reference(p: LstmPlan, x: np.ndarray, h0: np.ndarray, c0: np.ndarray) -> tuple:
    """The whole sequence: (output, final h, final c), states (batch, units)."""
    seq = x.reshape(p.steps, p.batch, p.features) if p.time_major else \
        x.reshape(p.batch, p.steps, p.features).transpose(1, 0, 2)
    h = h0.reshape(p.batch, p.units).astype(np.int64)
    c = c0.reshape(p.batch, p.units).astype(np.int64)
    outs = []
    for t in range(p.steps):
        h, c = lstm_step(p, seq[t], h, c)
        outs.append(h)
    y = np.stack(outs)  # (steps, batch, units)
    return (y if p.time_major else y.transpose(1, 0, 2)), h, c


# ---- the kernel -----------------------------------------------------------------------------------


def scratch_bytes(features: int, units: int) -> int:
    """tg_lstm_get_buffer_size: x_t and h as int16 pairs, the 4 gates' values (rows padded to 4 per gate)."""
    return 8 * (-(-features // 4)) + 8 * (-(-units // 4)) + 32 * (-(-units // 4))


def pack_wide(w: np.ndarray) -> np.ndarray:
    """(rows % 4 == 0, K) int16 -> int32 words in tg_lstm.h order: blocks of 4 rows, per group of 4 values,
    per row (w0 | w2 << 16), (w1 | w3 << 16) (tg_gemm_s8_fast.h's pre-extended layout, from int16 values)."""
    rows, k = w.shape
    padded = np.zeros((rows, -(-k // 4) * 4), np.int16)
    padded[:, :k] = w
    v = padded.reshape(rows // 4, 4, padded.shape[1] // 4, 4).transpose(0, 2, 1, 3)[..., [0, 2, 1, 3]]
    return np.ascontiguousarray(v.astype("<i2")).ravel().view("<i4").astype(np.int32)


def signed_table() -> np.ndarray:
    """tg_lstm_core.h's activation table, 512 words (uint32 bits stored as int32): word j + 256 = A[j] | (A[j + 1] - A[j]) << 16
    for j in [-256, 256), A[j] = T[j] for j >= 0 (T: TFLM's sigmoid table, A[256] = 0xFFFF) and
    2^16 - T[-j] below (A[-256] = 1), so that the sigmoid and tanh interpolate at signed inputs directly."""
    t = SIGMOID_TABLE_U16.astype(np.int64)
    a = np.empty(513, np.int64)  # A[-256..256]
    a[256:512] = t
    a[512] = 0xFFFF
    a[1:256] = (1 << 16) - t[255:0:-1]
    a[0] = 1
    d = np.diff(a)
    return ((a[:512] & 0xFFFF) | ((d & 0xFFFF) << 16)).astype(np.uint32).view(np.int32)


def _gate_rows(mats: list, units: int) -> np.ndarray:
    """The 4 gates' (units, depth) matrices stacked, each padded with zero rows to a multiple of 4."""
    rows = -(-units // 4) * 4
    return np.concatenate([np.pad(m, ((0, rows - m.shape[0]),) + ((0, 0),) * (m.ndim - 1)) for m in mats])


class LstmKernel(Kernel):
    """UNIDIRECTIONAL_SEQUENCE_LSTM with int8 activations (int16 cell state) or 16x8."""

    kinds = (OpKind.UNIDIRECTIONAL_SEQUENCE_LSTM,)

    def supports(self, op: Op, graph: Graph) -> bool:
        return graph.tensors[op.inputs[X]].dtype in _DTYPES

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        p = plan_lstm(op, graph)
        fn = "tg_lstm_s16" if p.wide else "tg_lstm_s8"
        w_x = pack_wide(_gate_rows(p.wx, p.units))
        w_h = pack_wide(_gate_rows(p.wh, p.units))
        bias_dtype = np.int64 if p.wide else np.int32
        consts = [ConstArray("q", p.q), ConstArray("sigmoid", signed_table()),
                  ConstArray("w_x", w_x), ConstArray("w_h", w_h),
                  ConstArray("bias_x", _gate_rows(list(p.bx), p.units).astype(bias_dtype))]
        consts.append(ConstArray("bias_h", _gate_rows(list(p.bh), p.units).astype(bias_dtype)))
        x, h, c = (op.inputs[k] for k in (X, H, C))
        args = [ScratchArg(), Literal(p.batch), Literal(p.steps), Literal(int(p.time_major)),
                Literal(p.features), Literal(p.units), ConstArg(0), ConstArg(1), ConstArg(2), ConstArg(3),
                ConstArg(4), ConstArg(5), TensorArg(x), TensorArg(h, const=False), TensorArg(c, const=False),
                TensorArg(op.outputs[0], const=False)]
        out_shape = graph.tensors[op.outputs[0]].shape

        def reference(inputs):
            """inputs: x, h, c (the variables, updated in place so that the state carries over)."""
            x_in, h_in, c_in = inputs
            y, h1, c1 = lstm_reference(p, np.asarray(x_in), np.asarray(h_in), np.asarray(c_in))
            for var, new in ((h_in, h1), (c_in, c1)):
                var[...] = new.reshape(var.shape).astype(var.dtype)
            return [y.reshape(out_shape).astype(np.int16 if p.wide else np.int8)]

        notes = dict(units=p.units, steps=p.steps, batch=p.batch, cell_clip_q=int(p.q[Q_CLIP]),
                     cell_tanh=(int(p.q[Q_CELL_TANH]), int(p.q[Q_CELL_TANH + 1])))
        return LoweredOp(op, fn, (fn + ".c",), args, consts, reference, macs=p.macs,
                         scratch_bytes=scratch_bytes(p.features, p.units), notes=notes)


register(LstmKernel())
