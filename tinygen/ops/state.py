"""Persistent state: READ_VARIABLE and ASSIGN_VARIABLE on variable tensors (TFLite resource variables).

The TFLite frontend turns each resource variable into one variable tensor (`frontend/tflite_resource.py`,
which also removes VAR_HANDLE and CALL_ONCE); these two ops then copy the variable's bytes out and in.
"""
from __future__ import annotations

from tinygen import ir
from tinygen.ir import OpKind
from tinygen.ops.checks import CheckContext
from tinygen.ops.spec import Lowering, NotApplicable, OpSpec, TfliteOp, register
from tinygen.ops.tflite_context import OpContext

# ---- checks ------------------------------------------------------------------------------------


def check_variable_input(c: CheckContext) -> None:
    """input 0 is a variable tensor (a resource variable's storage)"""
    if not c.ins[0].variable:
        raise c.bad(f"input 0 '{c.ins[0].name}' is not a variable")


def _same_bytes(c: CheckContext, other: ir.Tensor, role: str) -> None:
    var = c.ins[0]
    if other.dtype != var.dtype or other.nbytes != var.nbytes:
        raise c.unsupported(f"{role} '{other.name}' is {other.dtype}{list(other.shape)}, the variable "
                            f"'{var.name}' is {var.dtype}{list(var.shape)}")


def check_read_matches(c: CheckContext) -> None:
    """the output has the variable's dtype and byte size (the read is a byte copy)"""
    _same_bytes(c, c.out, "output")


def check_assign_matches(c: CheckContext) -> None:
    """the value has the variable's dtype and byte size, and the op has no output (the assignment is a
    byte copy into the variable)"""
    if c.op.outputs:
        raise c.bad(f"has {len(c.op.outputs)} outputs, expected none")
    _same_bytes(c, c.ins[1], "value")


# ---- TFLite converters ---------------------------------------------------------------------------


def _variable_input(c: OpContext):
    t = c.input(0)
    if not t.variable:
        raise c.bad(f"input 0 '{t.name}' is not a resource variable")
    return t


def tflite_read_variable(c: OpContext):
    _variable_input(c)
    return OpKind.READ_VARIABLE, ir.NoAttrs(), [c.op.inputs[0]]


def tflite_assign_variable(c: OpContext):
    _variable_input(c)
    c.input(1)
    if c.op.outputs:
        raise c.bad(f"expected no output, found {len(c.op.outputs)}")
    return [(OpKind.ASSIGN_VARIABLE, ir.NoAttrs(), [c.op.inputs[0], c.op.inputs[1]], [])]


# ---- specs -------------------------------------------------------------------------------------

_NO_KERAS = NotApplicable("Keras models keep no state between calls; resource variables come from .tflite files")
_NO_FLOAT = NotApplicable("only .tflite models (already quantized) hold resource variables; the float "
                          "reference runs Keras graphs")
_NO_BOUNDS = NotApplicable("a byte copy: no accumulator")
_NO_EXPORT = NotApplicable("the .tflite source keeps its resource variables (VAR_HANDLE, CALL_ONCE init "
                           "subgraph); TFLM runs that file, so tinygen's single-subgraph writer does not rebuild them")

register(
    OpSpec(OpKind.READ_VARIABLE, "copy of a variable's current value (resource variable read)",
           tflite=(TfliteOp("READ_VARIABLE", tflite_read_variable),), keras=_NO_KERAS,
           checks=(check_variable_input, check_read_matches), float_ref=_NO_FLOAT, bounds=_NO_BOUNDS,
           export=_NO_EXPORT, kernels=Lowering(("int8", "int16", "int32", "uint8", "float32")),
           inputs=(1, 1), activation_input=False),
    OpSpec(OpKind.ASSIGN_VARIABLE, "a value copied into a variable, read by later ops and invokes",
           tflite=(TfliteOp("ASSIGN_VARIABLE", tflite_assign_variable),), keras=_NO_KERAS,
           checks=(check_variable_input, check_assign_matches), float_ref=_NO_FLOAT, bounds=_NO_BOUNDS,
           export=_NO_EXPORT, kernels=Lowering(("int8", "int16", "int32", "uint8", "float32")),
           inputs=(2, 2), activation_input=False),
)
