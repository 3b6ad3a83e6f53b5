"""What a TFLite converter in an op spec receives: the parsed operator, with helpers that read its inputs
and options and raise errors naming the file, layer and operator."""
from __future__ import annotations

import numpy as np

from tinygen import ir
from tinygen.errors import ModelFormatError, UnsupportedError
from tinygen.ir import Activation, Padding

_ACTIVATIONS = {0: Activation.NONE, 1: Activation.RELU, 2: Activation.RELU_N1_TO_1, 3: Activation.RELU6}
_ACTIVATION_NAMES = {4: "TANH", 5: "SIGN_BIT"}
SAME, VALID = 0, 1  # TFLite Padding codes


class OpContext:
    """The operator being converted, with helpers that raise errors naming it."""

    def __init__(self, op, tensors: list, source: str, layer: str):
        self.op, self.tensors, self.source, self.layer = op, tensors, source, layer

    def where(self) -> str:
        return f"{self.source}: layer '{self.layer}' ({self.op.opname}, operator {self.op.index})"

    def bad(self, msg: str) -> ModelFormatError:
        return ModelFormatError(f"{self.where()}: {msg}")

    def unsupported(self, msg: str) -> UnsupportedError:
        return UnsupportedError(f"{self.where()}: {msg}")

    def input(self, k: int, rank: int | None = None):
        if k >= len(self.op.inputs) or self.op.inputs[k] < 0:
            raise self.bad(f"input {k} is missing")
        t = self.tensors[self.op.inputs[k]]
        if rank is not None and len(t.shape) != rank:
            raise self.bad(f"input {k} '{t.name}' has shape {list(t.shape)}, expected rank {rank}")
        return t

    def output(self, rank: int | None = None):
        if not self.op.outputs:
            raise self.bad("the operator has no output")
        t = self.tensors[self.op.outputs[0]]
        if rank is not None and len(t.shape) != rank:
            raise self.bad(f"output '{t.name}' has shape {list(t.shape)}, expected rank {rank}")
        return t

    def const(self, k: int, field: str) -> np.ndarray:
        t = self.input(k)
        if t.data is None:
            raise self.unsupported(f"{field} (input {k} '{t.name}') must be a constant")
        return t.data

    def int_const(self, k: int, field: str) -> np.ndarray:
        """A constant input that must hold integers (indices, shapes, sizes)."""
        data = self.const(k, field)
        if not np.issubdtype(data.dtype, np.integer):
            raise self.bad(f"{field} (input {k} '{self.input(k).name}') must be an integer tensor, got {data.dtype}")
        return data

    def activation(self) -> Activation:
        code = int(self.op.options.get("FusedActivationFunction", 0))
        if code in _ACTIVATIONS:
            return _ACTIVATIONS[code]
        if code in _ACTIVATION_NAMES:
            raise self.unsupported(f"fused activation {_ACTIVATION_NAMES[code]} is not supported")
        raise self.bad(f"fused_activation_function {code} is not a valid value")

    def positive(self, *fields: str) -> list:
        vals = [int(self.op.options[f]) for f in fields]
        for f, v in zip(fields, vals):
            if v < 1:
                raise self.bad(f"{f} is {v}, must be >= 1")
        return vals

    def window(self, in_shape: tuple, fh: int, fw: int, sh: int, sw: int, dh: int, dw: int) -> Padding:
        """Explicit padding for SAME/VALID, checked against the output tensor's H and W."""
        out = self.output(rank=4)
        code = int(self.op.options["Padding"])
        if code == SAME:
            top, bottom, oh = ir.same_padding(in_shape[1], fh, sh, dh)
            left, right, ow = ir.same_padding(in_shape[2], fw, sw, dw)
            pad = Padding(top, bottom, left, right)
        elif code == VALID:
            oh, ow = ir.valid_out(in_shape[1], fh, sh, dh), ir.valid_out(in_shape[2], fw, sw, dw)
            pad = Padding()
        else:
            raise self.bad(f"padding {code} is neither SAME nor VALID")
        if (oh, ow) != tuple(out.shape[1:3]):
            raise self.bad(f"output '{out.name}' is {list(out.shape)} but the window gives H={oh} W={ow}")
        return pad


    def inputs_with_bias(self, bias_at: int = 2) -> list:
        """Inputs 0 and 1 and the optional bias at `bias_at` (None when absent)."""
        ins = self.op.inputs
        bias = ins[bias_at] if len(ins) > bias_at and ins[bias_at] >= 0 else None
        return [ins[0], ins[1], bias]

    def check_broadcast(self, x, y) -> None:
        """NumPy's broadcast of two input shapes, checked dimension by dimension (a ModelFormatError if none)."""
        rank = max(len(x.shape), len(y.shape))
        a = (1,) * (rank - len(x.shape)) + tuple(x.shape)
        b = (1,) * (rank - len(y.shape)) + tuple(y.shape)
        for d, (m, n) in enumerate(zip(a, b)):
            if m != n and 1 not in (m, n):
                raise self.bad(f"input 0 {list(x.shape)} and input 1 {list(y.shape)} do not broadcast "
                               f"(dimension {d - rank}: {m} vs {n})")


def tflite_unary(kind):
    """A converter for a one-input builtin with no options."""
    def convert(c: OpContext):
        c.input(0)
        return kind, ir.NoAttrs(), [c.op.inputs[0]]
    return convert
