"""Weight bytes of the float KWS and IC models per scheme, against int8 at one byte per weight.

Weight bytes = packed weights + codebooks + per-channel multipliers and shifts of every conv /
depthwise / fully connected layer (biases are int32 in every scheme and left out); the int8
baseline stores one byte per weight and TFLite's int32 multiplier and int32 shift per channel.
The C == reference checks of these builds on the host and under QEMU are in benchmarks/schemes.py;
tests/kernels/test_lowbit.py and tests/e2e/test_schemes.py check every kernel and scheme.
"""
from __future__ import annotations

import numpy as np
import pytest

from tinygen import compiler
from tinygen.quant.schemes import int8_weight_bytes, weight_bytes, weighted_layers
from tinygen.verify.testing import run_c, run_reference

from test_models_keras import PATHS, data_for

LIMITS = {"int4": 0.55, "kmeans4": 0.55, "kmeans2": 0.30, "ternary": 0.30, "binary": 0.20}


@pytest.mark.parametrize("key", ["kws", "ic"])
def test_weight_bytes_per_scheme(key, models_dir):
    graph = compiler.load_model(str(models_dir / PATHS[key]))
    calib, held = data_for(key, models_dir)
    calib = calib[:32]
    ratios = {}
    for scheme, limit in LIMITS.items():
        q = compiler.quantize(graph, calib, weights=scheme)
        lowered = compiler.lower(q)
        assert all(lop.c_function.endswith(("_lb", "_lbx", "_usad", "_usad_t")) for lop in lowered if lop.op in weighted_layers(q))
        ratios[scheme] = weight_bytes(lowered) / int8_weight_bytes(q)
        t = q.tensors[q.inputs[0]]
        x = np.clip(np.round(held[:1] / t.scale) + t.zero_point, -128, 127).astype(np.int8)
        assert np.array_equal(run_c(q, [x])[0], run_reference(q, [x], lowered)[0]), scheme
    print(key, {k: round(v, 3) for k, v in ratios.items()})
    for scheme, limit in LIMITS.items():
        assert ratios[scheme] <= limit, (scheme, ratios[scheme])
