"""int8 and 16x8 GRU and SimpleRNN: the cell's step program (tinygen/quant/gru.py) lowered one step at a
time with tinygen's own kernels, then run by one C call that loops over the time steps (tg_rnn_s8.c; 16x8:
tg_rnn_s16.c over the int16 kernels).

Each step of the program becomes the single op TFLite would run for it (FULLY_CONNECTED, ADD, SUB, MUL,
LOGISTIC, TANH) on [1, units] tensors carrying the calibrated parameters, and is lowered by the kernel
tinygen uses for that op alone: the fast (SMLAD) FULLY_CONNECTED where it applies (depth % 4 == 0), else
the reference one, the fast (tabulated) ADD / SUB where it applies, the int8 MUL kernel, and LOGISTIC /
TANH as 256-entry tables. The FCs of the input run once over all steps, before the loop. Their scalar
arguments become one 16-word record per step (tg_rnn_s8.h), their constant arrays one blob per element
type, and their NumPy references, chained, are the cell's reference. So the C, the
reference and TFLM on the unrolled export (tinygen/verify/export_gru.py) compute the same integers.
"""
from __future__ import annotations

import numpy as np

from tinygen import ir
from tinygen.errors import UnsupportedError
from tinygen.ir import Graph, Op, OpKind, QuantParams, Tensor
from tinygen.lower import activation, conv, elementwise, fast, int16, int16_act, int16_nn, int16_unary
from tinygen.lower.base import (ConstArg, ConstArray, Kernel, Literal, LoweredOp, ScratchArg, TensorArg,
                                activation_inputs, register)
from tinygen.lower.csig import args_by_name
from tinygen.quant import gru as cell

RECORD = 16  # int32 words per step record: opcode, destination, source a, source b, 12 parameters
X_ID, H_ID, SEQ_ID = 0, 1, 1000  # buffer ids: the input, the hidden state; slots from 2, sequences from 1000
SEQ = "@seq"  # suffix of a value computed for every step at once
_ADD_PARAMS = ("in1_offset", "in1_mult", "in1_shift", "in2_offset", "in2_mult", "in2_shift", "left_shift",
               "out_offset", "out_mult", "out_shift", "act_min", "act_max")
_MUL_PARAMS = ("in1_offset", "in2_offset", "out_offset", "out_mult", "out_shift", "act_min", "act_max")
# what tg_rnn_s8.c calls
SOURCES = ("tg_rnn_s8.c", "tg_fully_connected_s8.c", "tg_fully_connected_s8_fast.c", *fast.GEMM_SOURCES,
           "tg_add_s8.c", "tg_sub_s8.c", "tg_add_s8_fast.c", "tg_mul_s8.c", "tg_lut_s8.c", "tg_requantize_s8_s8.c")
_KINDS = {"add": OpKind.ADD, "add_relu": OpKind.ADD, "sub": OpKind.SUB, "mul": OpKind.MUL,
          "sigmoid": OpKind.LOGISTIC, "tanh": OpKind.TANH}


def _fail(op: Op, why: str) -> UnsupportedError:
    return UnsupportedError(f"layer '{op.name}' ({op.kind.value}): {why}")


def step_graph(op: Op, graph: Graph) -> tuple:
    """(graph of the cell's single ops, [(Step, Op)]) for a quantized cell: the FCs of the input run once
    over all steps ("x" [time, features] -> "<value>@seq" [time, units]), the others on one step's
    [1, units] tensors."""
    x, w_t, r_t = (graph.tensors[op.inputs[k]] for k in (cell.X, cell.W, cell.R))
    units, n_steps, features = r_t.shape[1], x.shape[1], x.shape[2]
    dt = x.dtype
    params = cell.value_params(op, dt)
    tensors = {"x": Tensor("x", (n_steps, features), dt, x.quant)}
    for name, (scale, zp) in params.items():
        tensors[name] = Tensor(name, (1, units), dt, QuantParams.make(scale, zp))
        tensors[name + SEQ] = Tensor(name + SEQ, (n_steps, units), dt, QuantParams.make(scale, zp))
    ops = []
    for s in cell.program(op.kind, op.attrs):
        name = f"{op.name}/{s.out}"
        if s.kind == "fc":
            m, b = (w_t, op.inputs[cell.BX]) if s.b == "W" else (r_t, op.inputs[cell.BH])
            rows = slice(s.gate * units, (s.gate + 1) * units)
            wname, bname = f"{s.b}{s.gate}", None
            tensors[wname] = Tensor(wname, (units, m.shape[1]), "int8", QuantParams(
                m.quant.scale[rows], m.quant.zero_point[rows], 0), np.ascontiguousarray(m.data[rows]))
            if b is not None:
                bt = graph.tensors[b]
                bname = f"b{s.b}{s.gate}"
                tensors[bname] = Tensor(bname, (units,), bt.dtype, QuantParams(
                    bt.quant.scale[rows], bt.quant.zero_point[rows], 0), np.ascontiguousarray(bt.data[rows]))
            out = s.out + SEQ if s.a == "x" else s.out
            ops.append((s, Op(OpKind.FULLY_CONNECTED, name, [s.a, wname, bname], [out], ir.FullyConnectedAttrs())))
        elif s.kind in ("sigmoid", "tanh"):
            ops.append((s, Op(_KINDS[s.kind], name, [s.a], [s.out], ir.NoAttrs())))
        else:
            act = ir.Activation.RELU if s.kind == "add_relu" else ir.Activation.NONE
            ops.append((s, Op(_KINDS[s.kind], name, [s.a, s.b], [s.out], ir.ElementwiseAttrs(act))))
    return Graph(tensors, [o for _, o in ops], ["x"], ["h"]), ops


def lower_step(s, op: Op, g: Graph) -> LoweredOp:
    """The kernel tinygen runs for this one op alone (fast FULLY_CONNECTED / ADD / SUB where they apply)."""
    if g.tensors["x"].dtype == "int16":
        kernel = {"fc": int16_nn.FullyConnectedS16, "sigmoid": int16_act.SigmoidLikeS16, "mul": int16_nn.MulS16,
                  "tanh": int16_act.SigmoidLikeS16}.get(s.kind, int16.AddSubS16)
        return kernel().lower(op, g)
    if s.kind == "fc":
        quick = fast.FastFullyConnected()
        return quick.lower(op, g) if quick.supports(op, g) else conv.FullyConnectedKernel().lower(op, g)
    if s.kind in ("sigmoid", "tanh"):
        return activation.SigmoidLikeS8().lower(op, g)
    if s.kind == "mul":
        return elementwise.MulS8().lower(op, g)
    quick = fast.FastAddSub()
    return quick.lower(op, g) if quick.supports(op, g) else elementwise.AddSubS8().lower(op, g)


class _Blobs:
    """The constant arrays of every step, packed into one array per element type (offsets in elements)."""

    KINDS = {"int32": "words", "int64": "longs", "int8": "bytes", "uint16": "halves"}

    def __init__(self):
        self.parts: dict = {k: [] for k in self.KINDS.values()}
        self.sizes: dict = {k: 0 for k in self.KINDS.values()}

    def add(self, lop: LoweredOp, arg) -> int:
        if isinstance(arg, Literal) and arg.value == "NULL":
            return -1
        data = np.asarray(lop.const_arrays[arg.index].data).reshape(-1)
        kind = self.KINDS[str(data.dtype)]
        self.parts[kind].append(data)
        self.sizes[kind] += data.size
        return self.sizes[kind] - data.size

    def arrays(self, kinds: tuple) -> list:
        dtypes = {v: k for k, v in self.KINDS.items()}
        return [ConstArray(k, np.concatenate(self.parts[k]) if self.parts[k] else np.zeros(1, dtypes[k]))
                for k in kinds]


# C function -> (opcode, its arguments a record holds; "*name": a constant array, as a blob offset)
_FC8 = ("accum_depth", "out_depth", "input_offset", "filter_offset", "output_offset", "act_min", "act_max",
        "per_channel", "*mult", "*shift", "*bias", "*filter")
_FC16 = ("accum_depth", "out_depth", "filter_offset", "act_min", "act_max", "per_channel", "*mult", "*shift",
         "*bias", "*filter")
_LAYOUTS = {
    "tg_fully_connected_s8": (1, _FC8),
    "tg_fully_connected_s8_fast": (2, ("accum_depth", "out_depth", "output_offset", "act_min", "act_max", "*filter",
                                       "wide", "*quant", "rq_words")),
    "tg_add_s8": (3, _ADD_PARAMS), "tg_sub_s8": (4, _ADD_PARAMS), "tg_mul_s8": (5, _MUL_PARAMS),
    "tg_lut_s8": (6, ("*table",)), "tg_add_s8_fast": (7, ("*table1", "*table2", "*out_rq", "act_min", "act_max")),
    "tg_fully_connected_s16": (1, _FC16), "tg_add_s16": (3, _ADD_PARAMS), "tg_sub_s16": (4, _ADD_PARAMS),
    "tg_mul_s16": (5, ("out_mult", "out_shift", "act_min", "act_max")),
    "tg_logistic_s16": (6, ("input_mult", "input_shift", "*table")),
    "tg_tanh_s16": (8, ("input_mult", "input_shift", "*table")),
}


def _record(s, lop: LoweredOp, blobs: _Blobs, ids: dict) -> list:
    a = args_by_name(lop)
    code, layout = _LAYOUTS[lop.c_function]
    p = [blobs.add(lop, a[k[1:]]) if k.startswith("*") else int(a[k].value) for k in layout]
    b = a["batches"].value if s.kind == "fc" else ids[s.b] if s.kind not in ("sigmoid", "tanh") else 0
    rec = [code, ids[s.out], ids[s.a], int(b)]
    return rec + p + [0] * (RECORD - 4 - len(p))


def _output_rule(op: Op, graph: Graph, g: Graph) -> tuple:
    """(copy, lowered requantization h -> output) for writing h into the output."""
    y = graph.tensors[op.outputs[0]]
    h = g.tensors["h"]
    same = np.float32(h.scale) == np.float32(y.scale) and h.zero_point == y.zero_point
    units = h.shape[1]
    g.tensors["y"] = Tensor("y", (1, units), y.dtype, y.quant)
    requant = activation.QuantizeKernel() if y.dtype == "int8" else int16_unary.QuantizeS16()
    q = requant.lower(Op(OpKind.QUANTIZE, f"{op.name}/output", ["h"], ["y"]), g)
    return same, q


class CellS8(Kernel):
    """GRU and SimpleRNN, int8 (batch 1): the step program in one call, time steps looped in C."""

    kinds = (OpKind.GRU, OpKind.RNN)
    dtype, c_function, blobs = "int8", "tg_rnn_s8", ("words", "bytes")
    sources = SOURCES

    def supports(self, op: Op, graph: Graph) -> bool:
        return graph.tensors[op.inputs[0]].dtype == self.dtype

    def lower(self, op: Op, graph: Graph) -> LoweredOp:
        x, y = graph.tensors[op.inputs[cell.X]], graph.tensors[op.outputs[0]]
        if y.dtype != self.dtype or not op.attrs.params:
            raise _fail(op, f"the cell is not quantized to {self.dtype} (tinygen quantizes float GRU / RNN layers)")
        g, steps = step_graph(op, graph)
        pre = [(s, sub) for s, sub in steps if s.kind == "fc" and s.a == "x"]
        loop = [(s, sub) for s, sub in steps if (s, sub) not in pre]
        values = [s.out for s, _ in loop if s.out != "h"]
        ids = {"x": X_ID, "h": H_ID, **{v: 2 + k for k, v in enumerate(dict.fromkeys(values))},
               **{s.out: SEQ_ID + k for k, (s, _) in enumerate(pre)}}
        blobs, program, subs = _Blobs(), [], []
        for s, sub in pre + loop:
            lop = lower_step(s, sub, g)
            program += _record(s, lop, blobs, ids)
            subs.append((s, lop, activation_inputs(sub, g)))
        same, requant = _output_rule(op, graph, g)
        rq = args_by_name(requant)
        _, n_steps, features = x.shape
        units, h_zp, a = g.tensors["h"].shape[1], g.tensors["h"].zero_point, op.attrs
        out_mode = 0 if not a.return_sequences else (2 if a.go_backwards and a.input_order else 1)
        slots = len(ids) - 2 - len(pre)
        state = op.inputs[cell.STATE] if len(op.inputs) > cell.STATE else None
        consts = [ConstArray("program", np.asarray(program, np.int32))] + blobs.arrays(self.blobs)
        args = [Literal(n_steps), Literal(features), Literal(units), Literal(len(pre)), Literal(len(loop)),
                Literal(slots), Literal(len(pre)), *[ConstArg(k) for k in range(len(consts))],
                Literal(int(a.go_backwards)), Literal(out_mode), Literal(h_zp), Literal(int(same)), rq["mult"],
                rq["shift"], rq["output_zp"], TensorArg(x.name),
                TensorArg(state, const=False) if state else Literal("NULL"), ScratchArg(),
                TensorArg(y.name, const=False)]
        sources = set(self.sources)
        for _, lop, _ in subs:
            sources.update(lop.c_sources)
        reference = _reference(subs[:len(pre)], subs[len(pre):], requant, same,
                               (n_steps, features, units, np.dtype(self.dtype)), h_zp,
                               out_mode, a.go_backwards, y.shape, state is not None)
        w_rows = graph.tensors[op.inputs[cell.W]].shape[0]
        itemsize = np.dtype(self.dtype).itemsize
        return LoweredOp(op, self.c_function, tuple(sorted(sources)), args, consts, reference,
                         macs=n_steps * w_rows * (features + units),
                         scratch_bytes=(slots + 1 + len(pre) * n_steps) * units * itemsize,
                         notes={"steps": len(steps), "fast_fc": sum(lop.c_function.endswith("_fast")
                                                                    for _, lop, _ in subs)})


class CellS16(CellS8):
    """GRU and SimpleRNN, 16x8 (int16 values, int8 weights, int64 biases): tinygen's int16 kernels."""

    dtype, c_function, blobs = "int16", "tg_rnn_s16", ("words", "longs", "bytes", "halves")
    sources = ("tg_rnn_s16.c", "tg_fully_connected_s16.c", "tg_add_s16.c", "tg_sub_s16.c", "tg_mul_s16.c",
               "tg_logistic_s16.c", "tg_tanh_s16.c", "tg_requantize_s16_s16.c")


def _reference(pre, loop, requant, same, sizes, h_zp, out_mode, backwards, y_shape, stateful):
    n_steps, features, units, dt = sizes

    def emit(h):
        return h.copy() if same else np.asarray(requant.reference([h])[0], dt).reshape(1, units)

    def reference(ins):
        x = np.asarray(ins[0], dt).reshape(n_steps, features)
        seq = {s.out: np.asarray(lop.reference([x])[0], dt).reshape(n_steps, units) for s, lop, _ in pre}
        h = (np.asarray(ins[1], dt).reshape(1, units).copy() if stateful else np.full((1, units), h_zp, dt))
        rows = np.zeros((n_steps, units), dt)
        for k in range(n_steps):
            t = n_steps - 1 - k if backwards else k
            vals = {"h": h, **{name: v[t].reshape(1, units) for name, v in seq.items()}}
            for s, lop, names in loop:
                vals[s.out] = np.asarray(lop.reference([vals[n] for n in names])[0], dt).reshape(1, units)
            h = vals["h"]
            if out_mode:
                rows[t if out_mode == 2 else k] = emit(h)[0]
        if stateful:
            ins[1][...] = h.reshape(np.shape(ins[1]))
        out = rows if out_mode else emit(h)
        return [out.reshape(y_shape)]

    return reference


register(CellS8())
register(CellS16())
