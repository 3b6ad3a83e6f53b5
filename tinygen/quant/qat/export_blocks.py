"""Export of the QAT blocks (tinygen/quant/qat/blocks.py, recurrent.py): which IR ops and tensors each one
became in the Keras frontend, and their int8 weights, biases and parameters from what QAT learned.

- transposed convs: every phase CONV_2D gets the kernel's QAT codes rearranged into its taps
  (frontend/deconv_phases.phase_weights), output channel o's scale for each of its column phases;
- separable convs: the DEPTHWISE_CONV_2D and the 1x1 CONV_2D get their kernels' QAT codes and scales;
- attention: the four FULLY_CONNECTEDs get their projections' QAT codes and scales;
- LSTM: per-gate per-tensor weights, int32 biases at s_x * s_w, h at the output's parameters, the int16
  cell state at the power-of-two scale of the learned max |c| (the rule of tinygen/quant/lstm.py);
- GRU / SimpleRNN: the step program's parameters from the learned ranges (tinygen/quant/gru.py's rule),
  per-row weights, biases at the FC input's scale * row scale.
Biases are quantized at the input scale the int8 graph has (round half away from zero, int32).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from tinygen.errors import TinygenError
from tinygen.ir import OpKind, QuantParams


def build(builder, layer, ins: list, out_shapes: list):
    """The IR outputs of a QAT block `layer` (None for other layers); records its ranged tensors in
    builder.ranged and its weighted / recurrent ops in builder.blocks {op name: (layer, role)}."""
    from tinygen.frontend import keras_attention
    from tinygen.frontend.keras import _Builder
    from tinygen.quant.qat import blocks as qb
    from tinygen.quant.qat import recurrent as qr

    if not isinstance(layer, (qb.QuantizedDeconv, qb.QuantizedSeparable, qb.QuantizedAttention, qr.QuantizedRecurrent,
                              qr.QuantizedBidirectional)):
        return None
    start = len(builder.g.ops)
    if isinstance(layer, qb.QuantizedAttention):
        inner = layer.layer
        y = keras_attention.attention(builder, inner, inner.get_config(), *ins, out_shapes[0])
    else:
        y = _Builder._layer(builder, layer.layer, ins, out_shapes)[0]
    new = builder.g.ops[start:]
    if isinstance(layer, qb.QuantizedDeconv):
        convs = [op for op in new if op.kind == OpKind.CONV_2D]
        builder.blocks.update({op.name: (layer, k) for k, op in enumerate(convs)})
        if layer.activation is not None:
            builder.ranged[y] = layer.linear
            y = builder._relu(layer, y)
    elif isinstance(layer, qb.QuantizedSeparable):
        for op in new:
            if op.kind in (OpKind.DEPTHWISE_CONV_2D, OpKind.CONV_2D):
                role = "depthwise" if op.kind == OpKind.DEPTHWISE_CONV_2D else "pointwise"
                builder.blocks[op.name] = (layer, role)
                if role == "depthwise":
                    builder.ranged[op.outputs[0]] = layer.depthwise
        y = builder._relu(layer, y)
    elif isinstance(layer, qb.QuantizedAttention):
        n = layer.layer.name
        for op in new:
            part = op.name[len(n) + 1:] if op.name.startswith(n + "/") else "attention_output" if op.name == n else ""
            if op.kind == OpKind.FULLY_CONNECTED:
                builder.blocks[op.name] = (layer, part)
            if part in layer.trackers:
                builder.ranged[op.outputs[0]] = layer.trackers[part]
    elif isinstance(layer, qr.QuantizedBidirectional):
        cells = [op for op in new if op.kind == layer.fwd.op_kind]  # forward, then backward
        for part, op in zip((layer.fwd, layer.bwd), cells):
            builder.blocks[op.name] = (part, "cell")
            builder.ranged[op.outputs[0]] = part
        if layer.mode == "ave":
            builder.ranged[next(op for op in new if op.kind == OpKind.ADD).outputs[0]] = layer.merged
    else:
        cell = next(op for op in new if op.kind == layer.op_kind)
        builder.blocks[cell.name] = (layer, "cell")
        builder.ranged[cell.outputs[0]] = layer
    builder.ranged[y] = layer
    return [y]


def set_weights(q, blocks: dict) -> dict:
    """Quantize the constants (and recurrent parameters) of every block op in `q`; returns the report."""
    from tinygen.quant.qat import blocks as qb

    report, cache = {}, {}
    for op in q.ops:
        if op.name not in blocks:
            continue
        layer, role = blocks[op.name]
        if id(layer) not in cache:
            cache[id(layer)] = layer.quantized()
        weights = cache[id(layer)]
        if isinstance(layer, qb.QuantizedDeconv):
            _deconv(q, op, layer, role, weights["kernel"], report)
        elif isinstance(layer, qb.QuantizedSeparable):
            codes, scale, _, bias = weights[role]
            shape = q.tensors[op.inputs[1]].shape
            # depthwise (taps, C*M) -> 1HW(C*M); pointwise (1[, 1], C*M, O) -> O11(C*M)
            data = codes.reshape(shape) if role == "depthwise" else codes.reshape(-1, shape[0]).T.reshape(shape)
            _put(q, op, 1, data, scale, 3 if role == "depthwise" else 0, 2, bias, q.tensors[op.inputs[0]].scale,
                 report)
        elif isinstance(layer, qb.QuantizedAttention):
            codes, scale, _, bias = weights[role]
            _put(q, op, 1, codes.T, scale, 0, 2, bias, q.tensors[op.inputs[0]].scale, report)
        elif op.kind == OpKind.UNIDIRECTIONAL_SEQUENCE_LSTM:
            _lstm(q, op, layer, weights, report)
        else:
            _cell(q, op, layer, weights, report)
    return report


def _put(q, op, w_in: int, codes, scale, axis, b_in, bias, in_scale, report: dict) -> None:
    """Weight input w_in of `op` := int8 `codes` at `scale` (per channel on `axis`, per tensor when axis is
    None); bias input b_in (if any) := int32 round(bias / (in_scale * scale))."""
    w = q.tensors[op.inputs[w_in]]
    codes = np.asarray(codes)
    if codes.shape != w.shape:
        raise TinygenError(f"layer '{op.name}': QAT kernel {codes.shape} does not match the graph's {w.shape}")
    if np.any(np.abs(codes) > 127):
        raise TinygenError(f"layer '{op.name}': QAT weight codes exceed int8")
    w_scale = np.asarray(scale, np.float32).astype(np.float64)
    q.tensors[w.name] = dataclasses.replace(w, dtype="int8", data=np.rint(codes).astype(np.int8),
                                            quant=QuantParams.make(w_scale, 0, axis))
    report[w.name] = "qat int8"
    b_name = op.inputs[b_in] if b_in is not None and len(op.inputs) > b_in else None
    if b_name is None:
        if np.any(np.asarray(bias) != 0):
            raise TinygenError(f"layer '{op.name}': QAT bias is non-zero but the graph has no bias")
        return
    b_scale = np.asarray(in_scale, np.float64) * w_scale
    v = np.asarray(bias, np.float64) / b_scale
    qb = np.clip(np.sign(v) * np.floor(np.abs(v) + 0.5), np.iinfo(np.int32).min, np.iinfo(np.int32).max)
    b = q.tensors[b_name]
    q.tensors[b_name] = dataclasses.replace(b, dtype="int32", data=qb.astype(np.int32).reshape(b.shape),
                                            quant=QuantParams.make(b_scale, 0, 0))


def _deconv(q, op, layer, phase: int, kernel: tuple, report: dict) -> None:
    from tinygen.frontend.deconv_phases import phase_weights

    codes, scale, _, bias = kernel
    if codes.ndim == 4:  # (kh, kw, O, C) -> (C, O, kh, kw)
        w, strides = codes.transpose(3, 2, 0, 1), tuple(layer.layer.strides)
    else:  # (k, O, C) -> (C, O, 1, k)
        w, strides = codes.transpose(2, 1, 0)[:, :, None, :], (1,) + tuple(layer.layer.strides)
    m = tuple(-(-k // s) for k, s in zip(w.shape[2:], strides))
    o = w.shape[1]
    rows = slice(phase * strides[1] * o, (phase + 1) * strides[1] * o)
    wc = phase_weights(w.astype(np.float32), strides, m)[rows]
    _put(q, op, 1, wc, np.tile(scale, strides[1]), 0, 2, np.tile(bias, strides[1]),
         q.tensors[op.inputs[0]].scale, report)


def _lstm(q, op, layer, weights: dict, report: dict) -> None:
    from tinygen.ops.recurrent import BIAS, C, H, WH, WX, X
    from tinygen.quant.lstm import cell_scale

    units = int(layer.layer.cell.units)
    s_x = q.tensors[op.inputs[X]].scale
    for name, first in (("kernel", WX), ("recurrent_kernel", WH)):
        codes, scale, _, bias = weights[name]
        for g in range(4):
            cols = slice(g * units, (g + 1) * units)
            b_in = BIAS + g if name == "kernel" else None
            _put(q, op, first + g, codes[:, cols].T, scale[g], None, b_in, bias[cols], s_x, report)
    y = q.tensors[op.outputs[0]]
    lo, hi = _range(layer.trackers["c"])
    h, c = q.tensors[op.inputs[H]], q.tensors[op.inputs[C]]
    q.tensors[h.name] = dataclasses.replace(h, dtype=y.dtype, data=None, quant=y.quant)
    q.tensors[c.name] = dataclasses.replace(c, dtype="int16", data=None,
                                            quant=QuantParams.make(cell_scale(max(abs(lo), abs(hi))), 0))


def _range(tracker) -> tuple:
    r = tracker.output_range()
    if r is None:
        raise TinygenError(f"layer '{tracker.name}' has no activation range yet: train the QAT model (fit) or "
                           "call tinygen.qat.calibrate before exporting")
    return r


def _cell(q, op, layer, weights: dict, report: dict) -> None:
    from tinygen.quant import gru as qgru

    prog = qgru.program(op.kind, op.attrs)
    tables = {s.a for s in prog if s.kind in ("sigmoid", "tanh")}
    y = q.tensors[op.outputs[0]]
    params = {}
    for s in prog:
        if qgru.fixed_params(s) is not None:
            params[s.out] = qgru.fixed_params(s)
        elif s.out == "h" and layer.shares_h:
            params["h"] = (y.scale, y.zero_point)
        else:
            params[s.out] = qgru._params_of(s, *_range(layer.trackers[s.out]), "int8", s.out in tables)
    for side, w_in, b_in, name in (("W", qgru.W, qgru.BX, "kernel"), ("R", qgru.R, qgru.BH, "recurrent_kernel")):
        codes, scale, _, bias = weights[name]
        _put(q, op, w_in, codes.T, scale, 0, b_in, bias, qgru._input_scales(op, q, params, side), report)
    if len(op.inputs) > qgru.STATE and op.inputs[qgru.STATE] is not None:
        st = q.tensors[op.inputs[qgru.STATE]]
        q.tensors[st.name] = dataclasses.replace(st, dtype="int8", data=None, quant=QuantParams.make(*params["h"]))
    kept = tuple((k, float(np.float32(params[k][0])), int(params[k][1]))
                 for k in qgru.calibrated(op.kind, op.attrs))
    op.attrs = dataclasses.replace(op.attrs, params=kept)
