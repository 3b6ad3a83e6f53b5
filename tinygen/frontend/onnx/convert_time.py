"""Values whose recorded layout keeps their last axis in place, e.g. the [time, 1, hidden] output of a
time-major LSTM / GRU (PyTorch's batch_first=False), stored [1, time, hidden]: a MatMul by a constant runs
on the stored data (FULLY_CONNECTED over the last axis) and its output keeps the layout, so the batch
axis of 1 in the middle stays a layout record and no op moves data. Other MatMuls go to convert_nn."""
from __future__ import annotations

import numpy as np

from tinygen import ir
from tinygen.frontend.onnx import convert_nn
from tinygen.frontend.onnx.builder import Builder, Val
from tinygen.ir import OpKind


def matmul(b: Builder) -> None:
    x, wv = b.input(0), b.input(1)
    rank = len(x.shape) if x is not None else 0
    if x is None or x.is_const or wv is None or not wv.is_const or rank < 3 or x.perm is None or \
            x.order is not None or x.perm[-1] != rank - 1 or np.ndim(wv.const) != 2:
        convert_nn.matmul(b)
        return
    w = np.asarray(wv.const, np.float32)
    if w.shape[0] != x.shape[-1]:
        raise b.fail(f"constant operand {list(w.shape)} does not match input {list(x.shape)}")
    shape = b.ir_shape(x)[:-1] + (w.shape[1],)
    y = b.op(OpKind.FULLY_CONNECTED, [x.ir, b.const(f"{b.name}/weights", w.T), None], shape,
             ir.FullyConnectedAttrs(keep_num_dims=True))
    b.set(0, Val(x.shape[:-1] + (w.shape[1],), ir=y, perm=x.perm))


CONVERTERS = {"MatMul": matmul}
