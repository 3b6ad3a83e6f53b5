"""keras.applications models, untrained and calibrated on random data, build for cortex-m7; their C (the
Cortex-M7 kernel path, DSP instructions emulated on the host) equals the NumPy reference and TFLM running
tinygen's exported .tflite. Heavier variants: benchmarks/keras_apps.py.

10 classes: an untrained 1000-class head gives 1000 equal logits, where TFLM's int8 softmax aborts (its
output shift reaches 32); tests/unit/test_keras_breadth.py checks tinygen's C on that case."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import keras

from tinygen import compiler
from tinygen.verify.export_tflite import to_bytes
from tinygen.verify.runner import quantize_input
from tinygen.verify.testing import run_c, run_reference

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from oracle import num_outputs  # noqa: E402

SIZE = 96


def application(name: str, size: int = SIZE, classes: int = 10):
    """The keras.applications model `name` with random weights (benchmarks/keras_apps.py uses it too)."""
    apps, shape = keras.applications, (size, size, 3)
    keras.utils.set_random_seed(0)
    if name == "mobilenet_0.25":
        return apps.MobileNet(input_shape=shape, alpha=0.25, weights=None, classes=classes)
    if name == "mobilenet_v2_0.35":
        return apps.MobileNetV2(input_shape=shape, alpha=0.35, weights=None, classes=classes)
    if name.startswith("mobilenet_v3_small"):
        return apps.MobileNetV3Small(input_shape=shape, minimalistic=name.endswith("minimalistic"), weights=None,
                                     classes=classes)
    if name == "efficientnet_0.25x0.25":  # EfficientNet's own builder, width and depth a quarter of B0
        from keras.src.applications import efficientnet

        return efficientnet.EfficientNet(0.25, 0.25, size, input_shape=shape, weights=None, classes=classes,
                                         name="efficientnet_small")
    raise ValueError(name)


MODELS = ["mobilenet_0.25", "mobilenet_v2_0.35", "mobilenet_v3_small", "mobilenet_v3_small_minimalistic",
          "efficientnet_0.25x0.25"]


def _tflm(tfl: bytes, x: np.ndarray) -> np.ndarray:
    from tflite_micro.python.tflite_micro import runtime

    from tinygen.verify.tflm import tflm_interpreter

    interp = tflm_interpreter(runtime, tfl)
    assert interp is not None and num_outputs(tfl) == 1
    interp.set_input(x, 0)
    interp.invoke()
    return np.array(interp.get_output(0))


@pytest.mark.parametrize("name", MODELS)
def test_application_builds_for_m7_and_c_equals_reference_and_tflm(name):
    model = application(name)
    rng = np.random.default_rng(0)
    calib = rng.uniform(0, 1 if "efficientnet" not in name else 255, (4, SIZE, SIZE, 3)).astype(np.float32)
    result = compiler.build(model, calibration=calib, board="cortex-m7")
    g = result.graph
    t = g.tensors[g.inputs[0]]
    xq = quantize_input(calib[:1], {"name": t.name, "dtype": t.dtype, "scale": t.scale, "zero_point": t.zero_point})
    c = run_c(g, [xq[0][None]], kernel_path="device")[0]
    np.testing.assert_array_equal(c, run_reference(g, [xq[0][None]])[0])
    np.testing.assert_array_equal(c.reshape(-1), _tflm(to_bytes(g), xq[0][None]).reshape(-1))
    assert result.report["arena_bytes"] > 0
