"""Desktop TFLite's reference kernels (tf.lite.Interpreter with BUILTIN_REF): the outside oracle for models
that TFLM cannot run deterministically.

TFLM's SPACE_TO_BATCH_ND never sets the pad value it passes to the reference kernel (tflite-micro issue
1646): its padded cells hold whatever the persistent buffer held, and change from run to run. TF's
converter also leaves a dynamic batch in the static shapes of SPACE_TO_BATCH_ND / BATCH_TO_SPACE_ND
chains (a dilated conv), which TFLM, unable to resize tensors, computes on batch 1. Desktop TFLite
resizes the tensors and pads with the zero point; its reference kernels compute what TFLM's kernels
compute for every other op, so it is the oracle for a model that holds one of these operators, and for
a model with an int16 MIRROR_PAD, which TFLM has no kernel for.
"""
from __future__ import annotations

import numpy as np

from tinygen.errors import TinygenError

TFLM_UNRELIABLE = {
    "SPACE_TO_BATCH_ND": "TFLM pads with uninitialized memory (tflite-micro issue 1646)",
    "BATCH_TO_SPACE_ND": "TFLM runs it on the static (batch 1) shapes the converter leaves",
    "MIRROR_PAD": "TFLM has no int16 MIRROR_PAD kernel",
}
_INT16_ONLY = {"MIRROR_PAD"}  # ops TFLM runs right in int8 but lacks in int16


def builtin_names(data: bytes) -> list:
    """The builtin operator names a .tflite flatbuffer uses."""
    return sorted({name for name, _ in _operators(data)})


def _operators(data: bytes) -> list:
    """(builtin name, input 0's TensorType or None) of every operator of subgraph 0."""
    import tflite
    from tflite.BuiltinOperator import BuiltinOperator

    names = {v: k for k, v in vars(BuiltinOperator).items() if not k.startswith("_")}
    model = tflite.Model.GetRootAsModel(data, 0)
    codes = []
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        codes.append(names.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "?"))
    out = [(name, None) for name in codes]
    if model.SubgraphsLength():
        g = model.Subgraphs(0)
        for i in range(g.OperatorsLength()):
            op = g.Operators(i)
            x = op.Inputs(0) if op.InputsLength() else -1
            out.append((codes[op.OpcodeIndex()], g.Tensors(x).Type() if x >= 0 else None))
    return out


def tflm_unreliable(data: bytes) -> list:
    """The operators of the model whose TFLM results cannot be trusted (empty: TFLM is the oracle)."""
    from tflite.TensorType import TensorType

    return sorted({name for name, dtype in _operators(data) if name in TFLM_UNRELIABLE
                   and (name not in _INT16_ONLY or dtype == TensorType.INT16)})


def _quant(t) -> tuple:
    q = t.Quantization()
    if q is None:
        return ()
    return tuple(q.ScaleAsNumpy().tolist() if q.ScaleLength() else ()), \
        tuple(q.ZeroPointAsNumpy().tolist() if q.ZeroPointLength() else ())


def caveats(data: bytes) -> str:
    """Where desktop TFLite's reference kernels and TFLM (which tinygen follows) compute differently in
    this model, said in one sentence (empty when nowhere): an int8 RELU6 whose output is quantized unlike
    its input is requantized by desktop TFLite and only clamped by TFLM; an int16 RELU that rescales is
    rounded differently by the two (1 LSB on some values)."""
    import tflite
    from tflite.BuiltinOperator import BuiltinOperator
    from tflite.TensorType import TensorType

    model = tflite.Model.GetRootAsModel(data, 0)
    if not model.SubgraphsLength():
        return ""
    g = model.Subgraphs(0)
    relu6, relu16 = [], []
    for i in range(g.OperatorsLength()):
        op = g.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        kind = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        x, y = g.Tensors(op.Inputs(0)), g.Tensors(op.Outputs(0))
        name = y.Name().decode("utf-8", "replace")
        if kind == BuiltinOperator.RELU6 and _quant(x) != _quant(y):
            relu6.append(name)
        elif kind == BuiltinOperator.RELU and x.Type() == TensorType.INT16 and _quant(x) != _quant(y):
            relu16.append(name)
    text = ""
    if relu6:
        text += (f"; expect differences after RELU6 {', '.join(relu6)}: its output is quantized unlike its "
                 f"input, which desktop TFLite requantizes and TFLM (and tinygen) only clamps")
    if relu16:
        text += (f"; expect 1-LSB differences after int16 RELU {', '.join(relu16)}: desktop TFLite rounds its "
                 f"rescaling unlike TFLM (which tinygen follows)")
    return text


class ReferenceInterpreter:
    """tf.lite.Interpreter with the reference kernels, behind the calls `tinygen verify` makes of TFLM's."""

    def __init__(self, data: bytes):
        try:
            import tensorflow as tf
        except ImportError as exc:
            raise TinygenError(f"desktop TFLite (pip package tensorflow) cannot be imported: {exc}") from None
        self.version = tf.__version__
        try:
            self._it = tf.lite.Interpreter(
                model_content=bytes(data),
                experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF)
            self._it.allocate_tensors()
        except (RuntimeError, ValueError) as exc:
            raise TinygenError(f"desktop TFLite cannot load the model: {exc}") from None
        self._ins = self._it.get_input_details()
        self._outs = self._it.get_output_details()

    def get_input_details(self, k: int) -> dict:
        d = self._ins[k]
        return dict(dtype=d["dtype"], shape=tuple(int(v) for v in d["shape"]))

    def set_input(self, x, k: int) -> None:
        self._it.set_tensor(self._ins[k]["index"], np.asarray(x))

    def invoke(self) -> None:
        self._it.invoke()

    def get_output(self, k: int) -> np.ndarray:
        return np.array(self._it.get_tensor(self._outs[k]["index"]))


def run(data: bytes, inputs: list) -> list:
    """One inference with the reference kernels: `inputs` in the model's input order."""
    it = ReferenceInterpreter(data)
    for k, x in enumerate(inputs):
        d = it.get_input_details(k)
        it.set_input(np.asarray(x, dtype=d["dtype"]).reshape(d["shape"]), k)
    it.invoke()
    return [it.get_output(k) for k in range(len(it._outs))]
