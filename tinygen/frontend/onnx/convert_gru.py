"""ONNX GRU and RNN -> tinygen's GRU / RNN ops (tinygen/ops/gru.py), batch 1, layout 0.

X [time, 1, features] is read in its stored order (with batch 1 every layout of it that keeps the
element order, e.g. PyTorch's batch_first Transpose, is a free RESHAPE to [1, time, features]). Per
direction W [3 * hidden, features], R and B = [Wb, Rb] map straight onto the op's W, R, bx, bh (ONNX's
gate order z, r, h is the op's): linear_before_reset=1 is the reset-after form, 0 the reset-before form
(both biases then sit outside the reset gate, as ONNX defines). direction "reverse" runs the sequence
backwards with outputs in input order; "bidirectional" runs both and concatenates them on the direction
axis. Y [time, directions, 1, hidden] and Y_h [directions, 1, hidden] (the last step of each direction,
a slice of its output) are given in ONNX order. RNN: activations Tanh or Relu, one gate block.
Refused, naming the node: clip, layout 1, other activations, a non-zero initial_h, sequence_lens
shorter than the sequence.
"""
from __future__ import annotations

import numpy as np

from tinygen import ir
from tinygen.frontend.onnx.builder import Builder, Val, flat_order
from tinygen.frontend.onnx.fold import attrs
from tinygen.ir import OpKind
from tinygen.quant.gru import CellAttrs

_ACTS = {OpKind.GRU: (("Sigmoid", "Tanh"),), OpKind.RNN: (("Tanh",), ("Relu",))}


def _options(b: Builder, kind: OpKind, a: dict) -> tuple:
    """(directions, hidden, activation, reset_after) after refusing what the op cannot express."""
    if a.get("layout", 0) != 0:
        raise b.fail(f"layout {a['layout']} is not supported (only 0: [time, batch, features])")
    if a.get("clip") is not None:
        raise b.fail("clip is not supported")
    direction = a.get("direction", "forward")
    if direction not in ("forward", "reverse", "bidirectional"):
        raise b.fail(f"direction '{direction}' is not supported")
    dirs = 2 if direction == "bidirectional" else 1
    acts = tuple(x.decode() if isinstance(x, bytes) else str(x) for x in a.get("activations") or ())
    per = len(_ACTS[kind][0])
    given = [tuple(acts[k * per:(k + 1) * per]) for k in range(dirs)] if acts else [_ACTS[kind][0]] * dirs
    for got in given:
        if tuple(x.capitalize() for x in got) not in _ACTS[kind] or len(set(given)) > 1:
            raise b.fail(f"activations {list(acts)} are not supported (one of "
                         f"{' / '.join(str(list(x)) for x in _ACTS[kind])} per direction)")
    activation = "relu" if kind == OpKind.RNN and given[0][0].capitalize() == "Relu" else "tanh"
    return direction, dirs, int(a["hidden_size"]), activation, bool(a.get("linear_before_reset", 0))


def _sequence(b: Builder, x: Val) -> tuple:
    """X [time, 1, features] as an IR tensor [1, time, features] (a RESHAPE when the order allows)."""
    if len(x.shape) != 3 or x.shape[1] != 1:
        raise b.fail(f"input X {list(x.shape)} must be [time, 1, features] (batch 1, layout 0)")
    if x.order is not None or not np.array_equal(flat_order(x), np.arange(int(np.prod(x.shape)))):
        x = b.plain(x)
    steps, _, features = x.shape
    if b.ir_shape(x) == (1, steps, features):  # e.g. a time-major graph input, stored [1, time, features]
        return x.ir, steps, features
    return b.op(OpKind.RESHAPE, [x.ir], (1, steps, features), ir.ReshapeAttrs(), "/x"), steps, features


def _check_optional(b: Builder, steps: int) -> None:
    lens = b.const_input(4, "sequence_lens") if len(b.node.input) > 4 and b.node.input[4] else None
    if lens is not None and np.any(np.asarray(lens) != steps):
        raise b.fail(f"sequence_lens {np.asarray(lens).tolist()} is not supported (every sequence must be "
                     f"{steps} steps long)")
    h0 = b.const_input(5, "initial_h") if len(b.node.input) > 5 and b.node.input[5] else None
    if h0 is not None and np.any(np.asarray(h0) != 0):
        raise b.fail("a non-zero initial_h is not supported (the state starts at zero)")


def convert_cell(kind: OpKind):
    def convert(b: Builder) -> None:
        a = attrs(b.node)
        direction, dirs, hidden, activation, reset_after = _options(b, kind, a)
        x, steps, features = _sequence(b, b.act_input(0))
        _check_optional(b, steps)
        rows = (3 if kind == OpKind.GRU else 1) * hidden
        w, r = b.const_input(1, "W"), b.const_input(2, "R")
        bias = b.const_input(3, "B")
        bias = np.zeros((dirs, 2 * rows), np.float32) if bias is None else np.asarray(bias, np.float32)
        if w.shape != (dirs, rows, features) or r.shape != (dirs, rows, hidden) or bias.shape != (dirs, 2 * rows):
            raise b.fail(f"W {list(w.shape)}, R {list(r.shape)}, B {list(bias.shape)} do not fit {dirs} direction(s), "
                         f"hidden_size {hidden} and {features} features")
        want_y = len(b.node.output) > 0 and b.node.output[0] != ""
        outs = []
        for d in range(dirs):
            backwards = direction == "reverse" or d == 1
            cell_attrs = CellAttrs(activation, reset_after, backwards, True, backwards)
            ins = [x, b.const(f"{b.name}/W{d}", w[d]), b.const(f"{b.name}/R{d}", r[d]),
                   b.const(f"{b.name}/bx{d}", bias[d, :rows]), b.const(f"{b.name}/bh{d}", bias[d, rows:])]
            outs.append(b.op(kind, ins, (1, steps, hidden), cell_attrs, f"/{'backward' if d else 'forward'}"))
        # IR tensors keep the batch axis first: Y is stored as [1, time, directions, hidden] (perm (2, 0, 1, 3)
        # of ONNX's [time, directions, 1, hidden]), Y_h as [1, directions, hidden] (perm (1, 0, 2))
        if want_y:
            per = [b.op(OpKind.RESHAPE, [y], (1, steps, 1, hidden), ir.ReshapeAttrs(), f"/y{d}")
                   for d, y in enumerate(outs)]
            y = per[0] if dirs == 1 else b.op(OpKind.CONCATENATION, per, (1, steps, 2, hidden), ir.ConcatAttrs(2), "/y")
            b.set(0, Val((steps, dirs, 1, hidden), ir=y, perm=(2, 0, 1, 3)))
        if len(b.node.output) > 1 and b.node.output[1]:
            lasts = [_last(b, y, steps, hidden, d, direction == "reverse" or d == 1) for d, y in enumerate(outs)]
            y_h = lasts[0] if dirs == 1 else b.op(OpKind.CONCATENATION, lasts, (1, 2, hidden), ir.ConcatAttrs(1),
                                                  "/y_h")
            b.set(1, Val((dirs, 1, hidden), ir=y_h, perm=(1, 0, 2)))
    return convert


def _last(b: Builder, y: str, steps: int, hidden: int, d: int, backwards: bool) -> str:
    """[1, 1, hidden]: the state after the last step run (row 0 of a backwards output in input order)."""
    t = 0 if backwards else steps - 1
    attrs_ = ir.StridedSliceAttrs((0, t, 0), (1, t + 1, hidden), (1, 1, 1))
    return b.op(OpKind.STRIDED_SLICE, [y], (1, 1, hidden), attrs_, f"/h{d}")


CONVERTERS = {"GRU": convert_cell(OpKind.GRU), "RNN": convert_cell(OpKind.RNN)}
