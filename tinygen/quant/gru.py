"""GRU and SimpleRNN cells as step programs: the float reference, and their post-training quantization.

One time step of a cell is a short program of standard operators (`Step`s) over named per-step values.
The same program is run in float32 (the reference and the calibration), lowered step by step with
tinygen's int8 kernels (tinygen/lower/gru.py) and written out step by step as TFLite builtins
(tinygen/verify/export_gru.py), so the int8 cell is exactly that composition of TFLite int8 operators.

GRU (gate order z, r, h; Keras reset_after=True, ONNX linear_before_reset=1):

    xz, xr, xh = FC(x, Wz, bxz), FC(x, Wr, bxr), FC(x, Wh, bxh)
    hz, hr, hh = FC(h, Rz, bhz), FC(h, Rr, bhr), FC(h, Rh, bhh)
    z = LOGISTIC(ADD(xz, hz));  r = LOGISTIC(ADD(xr, hr))
    n = TANH(ADD(xh, MUL(r, hh)))
    h' = ADD(n, MUL(z, SUB(h, n)))            (= z * h + (1 - z) * n)

reset_after=False (ONNX linear_before_reset=0): hh = FC(MUL(r, h), Rh, bhh) and n = TANH(ADD(xh, hh)).
SimpleRNN: h' = act(ADD(FC(x, W, bx), FC(h, R, bh))), act TANH or RELU (RELU fused into the ADD).

Quantization (int8): every FC is TFLite's int8 FULLY_CONNECTED with per-channel symmetric weights (one
scale per row of W or R) and an int32 bias at input scale * row scale; LOGISTIC outputs are fixed at
1/256 (zero point -128), TANH outputs at 1/128 (zero point 0), as TFLM requires; every other value of
the program gets its own scale and zero point from its min / max over all time steps of the calibration
sequences (from the zero state). The hidden state h has one set of parameters at every step: the
layer output's when the layer returns the whole sequence (the output is h at every step), its own
calibrated range otherwise (the last h is then requantized to the output's parameters).
16x8 (activations "int16"): the same program on int16 values, zero point 0, scale max|range| / 32767,
LOGISTIC / TANH outputs at 2^-15, int64 biases, int8 weights as above (TFLite's 16x8 operators).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from tinygen.fmath import matmul, sigmoid
from tinygen.ir import Graph, OpKind, QuantParams
from tinygen.quant import ranges

X, W, R, BX, BH, STATE = range(6)  # IR inputs of GRU / RNN: x, W (G*U, F), R (G*U, U), bx, bh, h state
SIGMOID_Q, TANH_Q = (1.0 / 256, -128), (1.0 / 128, 0)  # TFLM's fixed int8 outputs of LOGISTIC / TANH
FIXED16 = (1.0 / 32768, 0)  # int16 (16x8) LOGISTIC and TANH outputs
# 16x8: TFLM's int16 LOGISTIC / TANH need an input range at least this wide (an input shift of at most 30)
MIN_WIDTH16 = 2 * 32767 * 2.0 ** 14 / (3 * 4096 * 2.0 ** 30) * 1.001


@dataclass(frozen=True)
class CellAttrs:
    """GRU / RNN options. nonlinearity: RNN "tanh" or "relu" (a GRU's candidate is always tanh);
    reset_after: GRU only (Keras reset_after, ONNX linear_before_reset); go_backwards: run the sequence
    from its last step; return_sequences: output h at every step ([batch, time, units]), else the last h;
    input_order: with go_backwards and return_sequences, output row t is the step that read input row t
    (ONNX reverse) instead of the t-th step run (Keras); params: int8 ((value, scale, zero point), ...)
    of the program's calibrated values, set by post-training quantization."""
    nonlinearity: str = "tanh"
    reset_after: bool = True
    go_backwards: bool = False
    return_sequences: bool = False
    input_order: bool = False
    params: tuple = ()


@dataclass(frozen=True)
class Step:
    """out = kind(a, b). "fc": a is the input value, b the side ("W" or "R"), gate the row block;
    "add" / "sub" / "mul" / "add_relu": two values; "sigmoid" / "tanh": one value."""
    kind: str
    out: str
    a: str
    b: str = ""
    gate: int = 0


def _fc(out, a, side, gate) -> Step:
    return Step("fc", out, a, side, gate)


def program(kind: OpKind, attrs: CellAttrs) -> tuple:
    """The step program of a GRU or RNN op; it reads "x" and "h" and ends by writing "h"."""
    if kind == OpKind.RNN:
        last = Step("tanh", "h", "a") if attrs.nonlinearity == "tanh" else Step("add_relu", "h", "xa", "ha")
        head = (_fc("xa", "x", "W", 0), _fc("ha", "h", "R", 0))
        return head + ((Step("add", "a", "xa", "ha"), last) if attrs.nonlinearity == "tanh" else (last,))
    steps = [_fc("xz", "x", "W", 0), _fc("xr", "x", "W", 1), _fc("xh", "x", "W", 2),
             _fc("hz", "h", "R", 0), _fc("hr", "h", "R", 1)]
    gates = [Step("add", "az", "xz", "hz"), Step("sigmoid", "z", "az"),
             Step("add", "ar", "xr", "hr"), Step("sigmoid", "r", "ar")]
    if attrs.reset_after:
        candidate = [_fc("hh", "h", "R", 2), *gates, Step("mul", "rh", "r", "hh"), Step("add", "ah", "xh", "rh")]
    else:
        candidate = [*gates, Step("mul", "rh", "r", "h"), _fc("hh", "rh", "R", 2), Step("add", "ah", "xh", "hh")]
    tail = [Step("tanh", "n", "ah"), Step("sub", "d", "h", "n"), Step("mul", "m", "z", "d"), Step("add", "h", "n", "m")]
    return tuple(steps + candidate + tail)


def gates(kind: OpKind) -> int:
    return 3 if kind == OpKind.GRU else 1


def fixed_params(step: Step, dtype: str = "int8"):
    """(scale, zero point) of a step output TFLM fixes, or None."""
    if step.kind not in ("sigmoid", "tanh"):
        return None
    return FIXED16 if dtype == "int16" else SIGMOID_Q if step.kind == "sigmoid" else TANH_Q


def calibrated(kind: OpKind, attrs: CellAttrs) -> list:
    """The values that get calibrated parameters, in program order ("h" included unless TANH fixes it)."""
    return [s.out for s in program(kind, attrs) if fixed_params(s) is None]


# ---- float ------------------------------------------------------------------------------------------


def _sigmoid(v):
    return sigmoid(v).astype(np.float32)


def run_float(kind: OpKind, attrs: CellAttrs, inputs: list, record: bool = False) -> tuple:
    """x [N, T, F] through the cell from h = state (zeros when absent). Returns (h at every step run,
    [N, T, U], in the order run), and with `record` {value: [N, T, U]} of every program value."""
    x = np.asarray(inputs[X], np.float32)
    w, r = np.asarray(inputs[W], np.float32), np.asarray(inputs[R], np.float32)
    units = r.shape[1]
    bx = np.zeros(w.shape[0], np.float32) if inputs[BX] is None else np.asarray(inputs[BX], np.float32)
    bh = np.zeros(w.shape[0], np.float32) if inputs[BH] is None else np.asarray(inputs[BH], np.float32)
    n = x.shape[0]
    h = np.zeros((n, units), np.float32)
    if len(inputs) > STATE and inputs[STATE] is not None:
        h = np.broadcast_to(np.asarray(inputs[STATE], np.float32).reshape(-1, units), (n, units)).copy()
    sides = {"W": (w, bx), "R": (r, bh)}
    prog = program(kind, attrs)
    order = range(x.shape[1] - 1, -1, -1) if attrs.go_backwards else range(x.shape[1])
    hs, seen = [], {}
    for t in order:
        v = {"x": x[:, t, :], "h": h}
        for s in prog:
            v[s.out] = _float_step(s, v, sides, units)
            if record:
                seen.setdefault(s.out, []).append(v[s.out])
        h = v["h"]
        hs.append(h)
    out = np.stack(hs, axis=1) if hs else np.zeros((n, 0, units), np.float32)
    return out, {k: np.stack(a, axis=1) for k, a in seen.items()}


def _float_step(s: Step, v: dict, sides: dict, units: int) -> np.ndarray:
    if s.kind == "fc":
        m, b = sides[s.b]
        rows = slice(s.gate * units, (s.gate + 1) * units)
        return (matmul(v[s.a], m[rows].T) + b[rows]).astype(np.float32)
    a = v[s.a]
    if s.kind == "sigmoid":
        return _sigmoid(a)
    if s.kind == "tanh":
        return np.tanh(a).astype(np.float32)
    b = v[s.b]
    out = {"add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b,
           "add_relu": lambda: np.maximum(a + b, np.float32(0))}[s.kind]()
    return out.astype(np.float32)


def float_cell(op, inputs, out_shape, graph) -> np.ndarray:
    """Float GRU / RNN: each call is one fresh sequence from the state's reset value (zero)."""
    hs, _ = run_float(op.kind, op.attrs, inputs)
    if not op.attrs.return_sequences:
        return hs[:, -1, :].reshape(out_shape)
    if op.attrs.go_backwards and op.attrs.input_order:
        hs = hs[:, ::-1, :]
    return np.ascontiguousarray(hs).reshape(out_shape)


# ---- post-training quantization --------------------------------------------------------------------


def _round(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def _value_ranges(fgraph: Graph, calib: list, ops: list) -> dict:
    """{op name: {value: (min, max)}} over every step of the calibration sequences, in float."""
    from tinygen.quant import float_ref

    found: dict = {op.name: {} for op in ops}
    for start in range(0, calib[0].shape[0], 16):
        _, env = float_ref.run_batch(fgraph, [c[start:start + 16] for c in calib], collect=True)
        for op in ops:
            ins = [None if t is None else env[t] if t in env else float_ref._const(fgraph, t) for t in op.inputs]
            _, seen = run_float(op.kind, op.attrs, ins[:STATE], record=True)
            for k, a in seen.items():
                lo, hi = found[op.name].get(k, (np.inf, -np.inf))
                found[op.name][k] = (min(lo, float(a.min())), max(hi, float(a.max())))
    return found


def _rows(q: Graph, name: str, in_scales: np.ndarray, bias_name, bias_dtype: str) -> set:
    """Per-row symmetric int8 weights `name` and the int32 (16x8: int64) bias at in_scales[row] * row scale."""
    t = q.tensors[name]
    data = t.data.astype(np.float64)
    absmax = np.max(np.abs(data), axis=1) if data.size else np.zeros(data.shape[0])
    w_scale = np.where(absmax > 0, absmax / 127.0, 1.0)
    if bias_name is not None and bias_dtype == "int32":  # a tiny row, a large bias: keep |bias| below 2^30
        need = np.abs(q.tensors[bias_name].data.astype(np.float64)) / (in_scales * float(1 << 30))
        w_scale = np.maximum(w_scale, need)
    w_scale = w_scale.astype(np.float32).astype(np.float64)
    qw = np.clip(_round(data / w_scale[:, None]), -127, 127).astype(np.int8)
    q.tensors[name] = dataclasses.replace(t, dtype="int8", data=qw, quant=QuantParams.make(w_scale, 0, 0))
    if bias_name is None:
        return {name}
    b = q.tensors[bias_name]
    b_scale = in_scales * w_scale
    info = np.iinfo(bias_dtype)
    qb = np.clip(_round(b.data.astype(np.float64) / b_scale), float(info.min), float(info.max)).astype(bias_dtype)
    q.tensors[bias_name] = dataclasses.replace(b, dtype=bias_dtype, data=qb, quant=QuantParams.make(b_scale, 0, 0))
    return {name, bias_name}


def _input_scales(op, q: Graph, params: dict, side: str) -> np.ndarray:
    """Per row of W or R: the scale of the value its FC step reads."""
    units = q.tensors[op.inputs[R]].shape[1]
    scales = np.ones(gates(op.kind) * units)
    for s in program(op.kind, op.attrs):
        if s.kind == "fc" and s.b == side:
            scale = q.tensors[op.inputs[X]].scale if s.a == "x" else params[s.a][0]
            scales[s.gate * units:(s.gate + 1) * units] = scale
    return scales


def _params_of(step: Step, lo: float, hi: float, activations: str, feeds_table: bool) -> tuple:
    from tinygen.quant.ptq import symmetric16_params

    if fixed_params(step, activations) is not None:
        return fixed_params(step, activations)
    lo, hi = ranges.widen_tiny(lo, hi)
    if activations == "int16":
        if feeds_table and max(hi, 0.0) - min(lo, 0.0) < MIN_WIDTH16:
            lo, hi = min(lo, -MIN_WIDTH16 / 2), max(hi, MIN_WIDTH16 / 2)
        return symmetric16_params(lo, hi)
    return ranges.asymmetric_params(lo, hi)


def quantize_cells(fgraph: Graph, q: Graph, calib: list, activations: str) -> set:
    """Quantize every GRU / RNN of `q` (activations done): the program's parameters into attrs.params,
    weights, biases and the state; returns the constants done (the generic pass leaves them alone).
    activations "int16" gives the 16x8 form: int16 values (zero point 0), int64 biases."""
    ops = [op for op in q.ops if op.kind in (OpKind.GRU, OpKind.RNN)]
    if not ops:
        return set()
    found = _value_ranges(fgraph, calib, ops)
    done: set = set()
    for op in ops:
        y = q.tensors[op.outputs[0]]
        prog = program(op.kind, op.attrs)
        tables = {s.a for s in prog if s.kind in ("sigmoid", "tanh")}
        params = {s.out: _params_of(s, *found[op.name][s.out], activations, s.out in tables) for s in prog}
        if op.attrs.return_sequences and fixed_params(prog[-1]) is None:
            params["h"] = (y.scale, y.zero_point)  # the output is h at every step: one set of parameters
        for side, w_in, b_in in (("W", W, BX), ("R", R, BH)):
            done |= _rows(q, op.inputs[w_in], _input_scales(op, q, params, side), op.inputs[b_in],
                          "int64" if activations == "int16" else "int32")
        if len(op.inputs) > STATE and op.inputs[STATE] is not None:
            st = q.tensors[op.inputs[STATE]]
            q.tensors[st.name] = dataclasses.replace(st, dtype=activations, data=None,
                                                     quant=QuantParams.make(*params["h"]))
        kept = tuple((k, float(np.float32(params[k][0])), int(params[k][1])) for k in calibrated(op.kind, op.attrs))
        op.attrs = dataclasses.replace(op.attrs, params=kept)
    return done


def value_params(op, dtype: str = "int8") -> dict:
    """{value: (scale, zero point)} of a quantized GRU / RNN op: calibrated ones from attrs, fixed ones."""
    out = {k: (s, z) for k, s, z in op.attrs.params}
    for s in program(op.kind, op.attrs):
        if fixed_params(s, dtype) is not None:
            out[s.out] = fixed_params(s, dtype)
    return out
