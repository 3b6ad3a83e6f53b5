"""Dilated CONV_2D / DEPTHWISE_CONV_2D kernels against TFLM, one op per model (tinygen's exporter writes the
dilation factors; TFLM's conv kernels run them natively), int8 and 16x8, on both kernel paths (the
portable C and the device DSP branch, emulated on the host) and the NumPy reference.

Plan: dilation 2, 3 and unequal (2, 3), (3, 1); with strides 1 and 2 (Keras refuses dilation with
stride, TFLite and TFLM do not); SAME, VALID and explicit asymmetric padding (exported as PAD + VALID);
1, 3, 4 and 8 channels (the SIMD kernels' 4-channel groups and their tails); depth multiplier 2;
kernels 3x3, 5x3, 1x3; zero points at the int8 ends; batches 2; random inputs over the full range,
all-min and all-max.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from test_kernels_conv import Case, build
from tinygen.compiler import lower
from tinygen.ir import Activation, OpKind, Padding, QuantParams
from tinygen.verify.export_tflite import to_bytes
from tinygen.verify.testing import host_model_for, run_reference

C2, DW = OpKind.CONV_2D, OpKind.DEPTHWISE_CONV_2D
CASES = [
    Case(C2, (1, 9, 11, 3), out_c=5, dilation=(2, 2)),
    Case(C2, (1, 12, 10, 4), out_c=8, dilation=(3, 3), same=False, act=Activation.RELU),
    Case(C2, (1, 11, 12, 8), out_c=4, dilation=(2, 3), stride=(2, 2), zp_in=-128, zp_out=127),
    Case(C2, (2, 10, 9, 1), out_c=3, kernel=(5, 3), dilation=(2, 1), stride=(1, 2), same=False),
    Case(C2, (1, 8, 13, 8), out_c=8, kernel=(1, 3), dilation=(1, 3), act=Activation.RELU6, zp_in=127),
    Case(DW, (1, 9, 11, 8), dilation=(2, 2)),
    Case(DW, (1, 12, 10, 4), dilation=(3, 3), stride=(2, 2), same=False, zp_in=-128),
    Case(DW, (1, 11, 12, 3), mult=2, dilation=(2, 3), act=Activation.RELU6),
    Case(DW, (2, 10, 9, 8), kernel=(5, 3), dilation=(3, 1), stride=(2, 1), zp_out=-128, per_channel=False),
]
EXPLICIT = Padding(3, 1, 0, 2)  # neither SAME nor VALID: exported as PAD + VALID conv


def _graph(case: Case, dtype: str, explicit: bool):
    g = build([case], seed=5)
    op = g.ops[0]
    if explicit:
        a = op.attrs
        x = g.tensors[op.inputs[0]]
        fh, fw = g.tensors[op.inputs[1]].shape[1:3]
        oh = (x.shape[1] + 4 - ((fh - 1) * a.dilation_h + 1)) // a.stride_h + 1
        ow = (x.shape[2] + 2 - ((fw - 1) * a.dilation_w + 1)) // a.stride_w + 1
        op.attrs = dataclasses.replace(a, padding=EXPLICIT)
        y = g.tensors[op.outputs[0]]
        y.shape = (y.shape[0], oh, ow, y.shape[3])
    if dtype == "int16":  # 16x8: int16 activations with zero point 0, int64 bias
        for name in (op.inputs[0], op.outputs[0]):
            t = g.tensors[name]
            t.dtype, t.quant = "int16", QuantParams.make(t.scale / 200, 0)
        if len(op.inputs) > 2:
            b = g.tensors[op.inputs[2]]
            scale = np.asarray(b.quant.scale) / 200
            b.dtype, b.quant = "int64", QuantParams.make(scale, 0, 0 if scale.size > 1 else None)
            b.data = (b.data.astype(np.int64) * 97)
    return g


PARAMS = [(c, d, e) for c in CASES for d in ("int8", "int16") for e in (False, True)
          if not (e and d == "int16" and c.kind == DW)]


@pytest.mark.parametrize("case,dtype,explicit", PARAMS,
                         ids=[f"{c.kind.value[:4]}{i // 4}-{d}-{'explicit' if e else 'same' if c.same else 'valid'}"
                              for i, (c, d, e) in enumerate(PARAMS)])
def test_dilated_conv_equals_tflm(case, dtype, explicit):
    from oracle import tflm_run

    graph = _graph(case, dtype, explicit)
    data = to_bytes(graph)
    lowered = lower(graph)
    models = {p: host_model_for(graph, kernel_path=p) for p in ("portable", "device")}
    x_t = graph.tensors[graph.inputs[0]]
    info = np.iinfo(np.dtype(dtype))
    rng = np.random.default_rng(9)
    samples = [rng.integers(int(info.min), int(info.max), size=x_t.shape, endpoint=True).astype(dtype)
               for _ in range(2)] + [np.full(x_t.shape, v, dtype) for v in (info.min, info.max)]
    for k, x in enumerate(samples):
        (want,) = tflm_run(data, [x])
        got = np.asarray(run_reference(graph, [x], lowered)[0]).reshape(want.shape)
        assert got.tobytes() == want.tobytes(), f"sample {k}: NumPy reference ({lowered[0].c_function})"
        for path, model in models.items():
            got = np.asarray(model([x])[0]).reshape(want.shape)
            assert got.tobytes() == want.tobytes(), f"sample {k}: {path} {lowered[0].c_function}"
