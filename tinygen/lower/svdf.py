"""Lowering of SVDF (int8, with an int8 or int16 memory): TFLM's integer kernel, the state updated in place.

The two rescales use TFLM's effective scales (input * weights_feature / state and state * weights_time /
output) from the float32 scales, then QuantizeMultiplier. The quotient is taken in double: TFLM's outputs
follow it where the float32 quotient lands exactly on a power of two (0.05 * 0.02 / 0.002 is 0.5 in
float32, not in TFLM's arithmetic; tests/kernels/test_svdf.py "int16_memory1_odd"). The NumPy
reference receives the state array itself and updates it as TFLM does (shift, new column) from the
unpacked weights; the sums wrap in int32 like TFLM's. The C gets the weights packed for SMLAD and the zero
points folded into biases (tg_svdf.h): sums modulo 2^32 do not change by that.
"""
from __future__ import annotations

import numpy as np

from tinygen.ir import Graph, Op, OpKind
from tinygen.lower.base import ConstArg, ConstArray, Kernel, Literal, LoweredOp, ScratchArg, TensorArg, register
from tinygen.lower.recurrent import pack_wide
from tinygen.ops.svdf import BIAS, STATE, WF, WT, X, sizes
from tinygen.quant import qmath

_FN = {"int8": "tg_svdf_s8", "int16": "tg_svdf_s8_s16"}
_RANGE = {"int8": (-128, 127), "int16": (-32768, 32767)}


def _wrap32(v):
    """int64 values taken modulo 2^32 into int32 (TFLM's int32 sums wrap the same way)."""
    return ((np.asarray(v, np.int64) + (1 << 31)) % (1 << 32)) - (1 << 31)


def pack_feature(wf: np.ndarray, input_zp: int) -> tuple:
    """weights_feature [filters, input_size] -> (the tg_smlad_quad.h words of the rows padded to a multiple of
    4, the folded feature bias -input_zp * row sum per padded row, int32)."""
    filters = wf.shape[0]
    rows = np.zeros((-(-filters // 4) * 4, wf.shape[1]), np.int16)
    rows[:filters] = wf
    fbias = _wrap32(-int(input_zp) * rows.astype(np.int64).sum(axis=1)).astype(np.int32)
    return pack_wide(rows), fbias


def pack_time(wt: np.ndarray) -> np.ndarray:
    """weights_time [filters, memory] -> int32 words, each filter's row word aligned (tg_svdf.h): int16, the
    values padded to an even count; int8, (memory - 1) // 4 groups as pairs (w0 | w2 << 16), (w1 | w3 << 16)
    and the rest as int16, padded to an even count."""
    filters, memory = wt.shape
    g = 0 if wt.dtype == np.int16 else (memory - 1) // 4
    rest = memory - 4 * g
    row = np.zeros((filters, 4 * g + rest + rest % 2), np.int16)
    groups = wt[:, :4 * g].astype(np.int16).reshape(filters, g, 4)[..., [0, 2, 1, 3]]
    row[:, :4 * g] = groups.reshape(filters, 4 * g)
    row[:, 4 * g:4 * g + rest] = wt[:, 4 * g:]
    return np.ascontiguousarray(row.astype("<i2")).ravel().view("<i4").astype(np.int32)


def svdf_reference(x, state, wf, wt, bias, rank: int, p: dict) -> np.ndarray:
    """One SVDF step; `state` ([batch, filters * memory]) is updated in place; returns the int8 output."""
    batch = x.shape[0]
    filters, memory = wt.shape
    units = filters // rank
    flat = state.reshape(-1)
    flat[:-1] = flat[1:].copy()
    lo, hi = _RANGE[str(state.dtype)]
    s = state.reshape(batch, filters, memory)
    acc = _wrap32(np.asarray(x, np.int64) - p["input_zp"]) @ np.asarray(wf, np.int64).T  # [batch, filters]
    v = qmath.multiply_by_quantized_multiplier(_wrap32(acc), p["mult1"], p["shift1"])
    col = np.clip(np.asarray(v, np.int64), lo, hi) + p["state_zp"]  # TFLM: clamp, then the zero point,
    s[:, :, memory - 1] = (col - lo) % (hi - lo + 1) + lo  # narrowed to the state type modulo 2^bits
    t = _wrap32(((s.astype(np.int64) - p["state_zp"]) * np.asarray(wt, np.int64)[None]).sum(axis=2))
    sums = _wrap32(np.asarray(bias, np.int64)[None] + t.reshape(batch, units, rank).sum(axis=2))
    out = qmath.multiply_by_quantized_multiplier(sums, p["mult2"], p["shift2"]) + p["output_zp"]
    return np.clip(out, -128, 127).astype(np.int8)


def scratch_bytes(n_in: int, filters: int) -> int:
    """tg_svdf_*_get_buffer_size: x as int16 pairs (8 bytes per group of 4 values), one int32 per filter."""
    return 8 * (-(-n_in // 4)) + 4 * filters


class SvdfS8(Kernel):
    """SVDF: int8 input / weights_feature / output, int32 bias, int8 or int16 weights_time and state."""

    kinds = (OpKind.SVDF,)

    def supports(self, op: Op, graph: Graph) -> bool:
        return graph.tensors[op.inputs[X]].dtype == "int8" and graph.tensors[op.inputs[STATE]].dtype in _FN

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        t = [graph.tensors[n] for n in op.inputs]
        x, wf, wt, bias, state = t
        y = graph.tensors[op.outputs[0]]
        batch, n_in, filters, units, memory = sizes(op, graph)
        f32 = np.float32
        eff1 = float(f32(x.scale)) * float(f32(wf.scale)) / float(f32(state.scale))
        eff2 = float(f32(state.scale)) * float(f32(wt.scale)) / float(f32(y.scale))
        mult1, shift1 = qmath.quantize_multiplier(eff1)
        mult2, shift2 = qmath.quantize_multiplier(eff2)
        p = dict(input_zp=x.zero_point, mult1=mult1, shift1=shift1, state_zp=state.zero_point, mult2=mult2,
                 shift2=shift2, output_zp=y.zero_point)
        wf_d = np.asarray(wf.data, np.int8)
        wt_d = np.asarray(wt.data, state.dtype)
        b_d = np.asarray(bias.data, np.int32).reshape(-1)
        w_feat, fbias = pack_feature(wf_d, p["input_zp"])
        wt_sums = wt_d.astype(np.int64).sum(axis=1).reshape(units, op.attrs.rank).sum(axis=1)
        folded = _wrap32(b_d.astype(np.int64) - int(p["state_zp"]) * wt_sums).astype(np.int32)
        consts = [ConstArray("weights_feature", w_feat), ConstArray("feature_bias", fbias),
                  ConstArray("weights_time", pack_time(wt_d)), ConstArray("bias", folded)]
        args = [Literal(batch), Literal(n_in), Literal(filters), Literal(op.attrs.rank), Literal(memory)]
        args += [Literal(p[k]) for k in ("mult1", "shift1", "state_zp", "mult2", "shift2", "output_zp")]
        args += [TensorArg(x.name), ConstArg(0), ConstArg(1), ConstArg(2), ConstArg(3),
                 TensorArg(state.name, const=False), ScratchArg(), TensorArg(y.name, const=False)]
        rank, shape = op.attrs.rank, y.shape

        def reference(ins: list) -> list:
            xs, st = ins  # activation inputs: x and the state array (updated in place)
            return [svdf_reference(np.asarray(xs), st, wf_d, wt_d, b_d, rank, p).reshape(shape)]

        fn = _FN[state.dtype]
        return LoweredOp(op, fn, (fn + ".c",), args, consts, reference,
                         macs=batch * filters * (n_in + memory), scratch_bytes=scratch_bytes(n_in, filters),
                         notes=dict(state=state.name, eff1=eff1, eff2=eff2))


register(SvdfS8())
