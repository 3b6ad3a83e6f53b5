"""A quantized GRU / RNN written to .tflite as its unrolled steps: per time step a STRIDED_SLICE of the
input row, then one TFLite builtin per step of the cell's program (tinygen/quant/gru.py) on [1, units]
tensors carrying the calibrated parameters; the outputs are PACKed along the time axis (or the last h
taken), with a QUANTIZE where the output's parameters differ from h's. The state of a stateful cell is
the variable tensor itself: the first step reads it, the last step writes it."""
from __future__ import annotations

import numpy as np

from tinygen import ir
from tinygen.quant import gru as cell

_BUILTIN = {"add": "ADD", "add_relu": "ADD", "sub": "SUB", "mul": "MUL", "sigmoid": "LOGISTIC", "tanh": "TANH"}
_OPTIONS = {"ADD": "AddOptions", "SUB": "SubOptions", "MUL": "MulOptions"}


def _tensor(w, base: str, shape, dtype: str, quant, data=None) -> int:
    name, k = base, 1
    while name in w.index or name in w.graph.tensors:
        name, k = f"{base}_{k}", k + 1
    w.index[name] = len(w.tensors)
    w.tensors.append((name, tuple(shape), dtype, quant, data))
    return w.index[name]


def _rows(w, op, k: int, gate: int, units: int, base: str) -> int:
    t = w.graph.tensors[op.inputs[k]]
    rows = slice(gate * units, (gate + 1) * units)
    q = ir.QuantParams(t.quant.scale[rows], t.quant.zero_point[rows], 0 if units > 1 else None)
    shape = (units,) + tuple(t.shape[1:])
    return _tensor(w, base, shape, t.dtype, q, np.ascontiguousarray(t.data[rows]))


def _consts(w, op, units: int) -> dict:
    """(side, gate) -> (weights index, bias index): the per-gate blocks of W / bx and R / bh."""
    out = {}
    for s in cell.program(op.kind, op.attrs):
        if s.kind == "fc" and (s.b, s.gate) not in out:
            wk, bk = (cell.W, cell.BX) if s.b == "W" else (cell.R, cell.BH)
            out[(s.b, s.gate)] = (_rows(w, op, wk, s.gate, units, f"{op.name}/{s.b}{s.gate}"),
                                  _rows(w, op, bk, s.gate, units, f"{op.name}/b{s.b}{s.gate}"))
    return out


def _slice(w, op, x: int, t: int, features: int, xt) -> int:
    row = _tensor(w, f"{op.name}/{t}/x", (1, features), xt.dtype, xt.quant)
    consts = [w.new_const(f"{op.name}/{t}/{k}", np.asarray(v, np.int32))
              for k, v in (("begin", (0, t, 0)), ("end", (1, t + 1, features)), ("strides", (1, 1, 1)))]
    w.emit("STRIDED_SLICE", [x] + consts, [row], "StridedSliceOptions",
           (("BeginMask", 0), ("EndMask", 0), ("ShrinkAxisMask", 2)))
    return row


def _step(w, op, k: int, vals: dict, consts: dict, quants: dict, units: int, last_out, dt: str) -> None:
    """One time step's builtins; vals holds "x" and "h" and gets every value; the last op writes last_out
    when given."""
    prog = cell.program(op.kind, op.attrs)
    for i, s in enumerate(prog):
        out = last_out if (i == len(prog) - 1 and last_out is not None) else \
            _tensor(w, f"{op.name}/{k}/{s.out}", (1, units), dt, quants[s.out])
        if s.kind == "fc":
            wi, bi = consts[(s.b, s.gate)]
            w.emit("FULLY_CONNECTED", [vals[s.a], wi, bi], [out], "FullyConnectedOptions",
                   (("FusedActivationFunction", 0), ("KeepNumDims", False)))
        elif s.kind in ("sigmoid", "tanh"):
            w.emit(_BUILTIN[s.kind], [vals[s.a]], [out])
        else:
            name = _BUILTIN[s.kind]
            w.emit(name, [vals[s.a], vals[s.b]], [out], _OPTIONS[name],
                   (("FusedActivationFunction", 1 if s.kind == "add_relu" else 0),))
        vals[s.out] = out


def export_unrolled(w, op, ins, outs) -> None:
    g = w.graph
    x, y = g.tensors[op.inputs[cell.X]], g.tensors[op.outputs[0]]
    _, steps, features = x.shape
    params = cell.value_params(op, x.dtype)
    quants = {k: ir.QuantParams.make(s, z) for k, (s, z) in params.items()}
    units = g.tensors[op.inputs[cell.R]].shape[1]
    stateful = len(ins) > cell.STATE and ins[cell.STATE] >= 0
    same = np.float32(quants["h"].scale[0]) == np.float32(y.scale) and quants["h"].zero_point[0] == y.zero_point
    direct = same and not stateful and not op.attrs.return_sequences  # the last step writes the output
    consts = _consts(w, op, units)
    h = ins[cell.STATE] if stateful else _tensor(
        w, f"{op.name}/h0", (1, units), x.dtype, quants["h"],
        np.full((1, units), quants["h"].zero_point[0], x.dtype))
    rows = [None] * steps
    for k in range(steps):
        t = steps - 1 - k if op.attrs.go_backwards else k
        vals = {"x": _slice(w, op, ins[cell.X], t, features, x), "h": h}
        last = k == steps - 1
        _step(w, op, k, vals, consts, quants, units,
              ins[cell.STATE] if (last and stateful) else outs[0] if (last and direct) else None, x.dtype)
        h = vals["h"]
        if op.attrs.return_sequences:
            rows[t if op.attrs.input_order else k] = h if same else _requantize(w, op, h, y, f"{op.name}/{k}/y")
    if op.attrs.return_sequences:
        w.emit("PACK", rows, outs, "PackOptions", (("ValuesCount", steps), ("Axis", 1)))
    elif not direct:
        w.emit("QUANTIZE", [h], outs)


def _requantize(w, op, h: int, y, base: str) -> int:
    out = _tensor(w, base, (1, y.shape[-1]), y.dtype, y.quant)
    w.emit("QUANTIZE", [h], [out])
    return out
