"""Single-operator .tflite models written with tinygen's flatbuffer writer, for the layout-op tests.

`one_op` writes any TFLite builtin with any options (masks and forms tinygen's own export never
writes), so the frontend's reading of the raw operator is tested against TFLM on the same file.
"""
from __future__ import annotations

import numpy as np

from tinygen import ir
from tinygen.verify.export_tflite import _Writer


def qparams(dtype: str, rng) -> ir.QuantParams:
    """A random per-tensor quantization of `dtype` (int16 keeps zero point 0, as TFLite requires)."""
    scale = float(rng.uniform(0.005, 0.2))
    zp = 0 if dtype == "int16" else int(rng.integers(-20, 21))
    return ir.QuantParams.make(scale, zp)


def one_op(opname: str, inputs: list, outputs: list, options: str = "", fields: tuple = (),
           graph_inputs=None) -> bytes:
    """A model of one builtin. `inputs` / `outputs` are (name, shape, dtype, quant, data) with
    data None for activations; graph inputs are the activation inputs (or `graph_inputs` names)."""
    tensors = {}
    for name, shape, dtype, quant, data in list(inputs) + list(outputs):
        if name is None or name in tensors:
            continue
        value = None if data is None else np.asarray(data, dtype=dtype).reshape(shape)
        tensors[name] = ir.Tensor(name, tuple(shape), dtype, quant, value)
    g_ins = graph_inputs if graph_inputs is not None else [i[0] for i in inputs if i[0] and i[4] is None]
    graph = ir.Graph(tensors, [], list(g_ins), [o[0] for o in outputs], name=opname.lower())
    w = _Writer(graph)
    ins = [-1 if i[0] is None else w.tensor(i[0]) for i in inputs]
    outs = [w.tensor(o[0]) for o in outputs]
    w.emit(opname, ins, outs, options, tuple(fields))
    return w.finish()


def ops_model(tensors: list, ops: list, inputs: list, outputs: list) -> bytes:
    """A model of several builtins: `tensors` are (name, shape, dtype, quant, data), `ops` are
    (opname, input names (None when absent), output names, options table, option fields)."""
    table = {name: ir.Tensor(name, tuple(shape), dtype, quant,
                             None if data is None else np.asarray(data, dtype=dtype).reshape(shape))
             for name, shape, dtype, quant, data in tensors}
    w = _Writer(ir.Graph(table, [], list(inputs), list(outputs), name="model"))
    for opname, ins, outs, options, fields in ops:
        w.emit(opname, [-1 if t is None else w.tensor(t) for t in ins], [w.tensor(t) for t in outs],
               options, tuple(fields))
    return w.finish()
