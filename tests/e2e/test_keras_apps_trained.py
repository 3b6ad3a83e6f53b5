"""keras.applications models briefly trained on a synthetic 10-class image task (tests/synthetic_images.py),
then built for cortex-m7 with PTQ on training samples: the C (Cortex-M7 kernel path) equals the NumPy
reference and TFLM on tinygen's exported .tflite, and the int8 model keeps the float model's top-1 on
held-out images. Smaller inputs than benchmarks/keras_apps_trained.py (all five models at 96x96, with
QEMU figures and the error against TF's converter), which uses `trained` too."""
from __future__ import annotations

import numpy as np
import pytest

from oracle import tflm_run
from quant_error import compare, deq, q_in
from synthetic_images import images, train
from test_keras_apps import application
from tinygen import compiler
from tinygen.verify.export_tflite import to_bytes
from tinygen.verify.testing import host_model_for, run_reference


def scaled(name: str, x: np.ndarray) -> np.ndarray:
    """Images in [0, 1] in the range the application takes: 0..255 for the ones whose first layers
    rescale (MobileNetV3, EfficientNet), -1..1 for MobileNet and MobileNetV2."""
    return x * 255.0 if name.startswith(("mobilenet_v3", "efficientnet")) else x * 2.0 - 1.0


def trained(name: str, size: int, n_train: int = 480, n_test: int = 32, epochs: int = 3) -> tuple:
    """(model, training inputs, held-out inputs, held-out labels, float held-out accuracy): the application
    `name` at size x size with 10 classes after `epochs` epochs on n_train synthetic images."""
    x, y = images(n_train + n_test, size, seed=1)
    x = scaled(name, x)
    model = application(name, size, 10)
    train(model, x[:n_train], y[:n_train], epochs=epochs)
    acc = float(np.mean(model.predict(x[n_train:], verbose=0).argmax(-1) == y[n_train:]))
    return model, x[:n_train], x[n_train:], y[n_train:], acc


@pytest.mark.parametrize("name", ["mobilenet_0.25", "mobilenet_v3_small_minimalistic"])
def test_trained_application_c_equals_reference_and_tflm(name):
    model, train_x, test_x, _, acc = trained(name, 48, n_train=256, n_test=16)
    want = model.predict(test_x, verbose=0)
    assert len(set(want.argmax(-1))) >= 3, f"{name}: degenerate float outputs {want.argmax(-1)}"
    result = compiler.build(model, calibration=train_x[:32], board="cortex-m7")
    g = result.graph
    lowered, tfl = compiler.lower(g), to_bytes(g)
    host = host_model_for(g, kernel_path="device")
    outs = []
    for k, x in enumerate(test_x):
        xi = q_in(g, x)
        (r,) = run_reference(g, [xi], lowered)
        outs.append(deq(g, r))
        if k < 3:
            (c,) = host([xi])
            np.testing.assert_array_equal(c, r)
            np.testing.assert_array_equal(c.reshape(-1), np.asarray(tflm_run(tfl, [xi])[0]).reshape(-1))
    err, agree = compare(want, outs)
    print(f"\n{name}: float accuracy {acc:.3f}, int8 mean |error| {err:.5f}, top-1 agreement {agree:.3f}")
    assert agree >= 0.6 and err < 0.05, (err, agree)
