"""Float Keras MLPerf models through tinygen's PTQ: C == NumPy reference, top-1 agreement, AD error.

Calibration: the real AD windows and SWW samples; synthetic inputs shaped like each model's data
elsewhere. Held-out inputs come from the same distribution as the calibration data.
"""
from __future__ import annotations

import numpy as np
import pytest

import tinygen
import tinygen.verify.runner
from tinygen.ir import serialize
from tinygen.verify.testing import run_reference


def photo_crops(rng, n, size, lo, hi):
    """Random square crops of scikit-learn's two bundled photos, resized: real natural-image patches."""
    from PIL import Image
    from sklearn.datasets import load_sample_images

    photos = load_sample_images().images
    out = []
    for _ in range(n):
        im = photos[rng.integers(len(photos))]
        side = int(rng.integers(size, min(im.shape[:2])))
        y, x = int(rng.integers(0, im.shape[0] - side)), int(rng.integers(0, im.shape[1] - side))
        crop = np.asarray(Image.fromarray(im[y:y + side, x:x + side]).resize((size, size), Image.BILINEAR),
                          np.float32)
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        out.append(lo + (hi - lo) * crop / 255.0)
    return np.stack(out).astype(np.float32)


def data_for(key, models_dir):
    """(calibration, held-out) float inputs for each model."""
    rng = np.random.default_rng(42)
    if key == "ad":
        w = np.load(models_dir / "mlperf/ad/sample_windows_float32.npy")
        return w[0::2], w[1::2]
    if key == "sww":
        with np.load(models_dir / "mlperf/sww/calibration_samples.npz") as z:
            x = z["specs"].astype(np.float32)
        return x[:30], x[30:]
    if key == "kws":
        s = (np.load(models_dir / "mlperf/kws/sample_input_int8.npy").astype(np.float32) - 83) * 0.5847029
        x = s[None, 0] + rng.normal(0, 8.0, size=(160,) + s.shape[1:]).astype(np.float32)
        return x[:60], x[60:]
    if key == "ic":
        x = photo_crops(rng, 300, 32, 0, 255)
        return x[:100], x[100:]
    if key == "vww":
        x = photo_crops(rng, 200, 96, 0, 1)
        return x[:50], x[50:]
    raise KeyError(key)


PATHS = {"kws": "mlperf/kws/kws_ref_model_rebuilt.keras", "vww": "mlperf/vww/vww_96.h5",
         "ic": "mlperf/ic/pretrainedResnet.h5", "ad": "mlperf/ad/ad01.h5", "sww": "mlperf/sww/str_ww_ref_model.h5"}


@pytest.fixture(scope="module", params=sorted(PATHS))
def case(request, models_dir, tmp_path_factory):
    import keras

    from tinygen.frontend.keras import _load as load_keras_model

    key = request.param
    calib, held = data_for(key, models_dir)
    out = tmp_path_factory.mktemp(key) / "out"
    result = tinygen.compile(str(models_dir / PATHS[key]), out, calibration=calib, name=key)
    model = load_keras_model(models_dir / PATHS[key])
    float_out = np.asarray(model.predict(held, verbose=0, batch_size=32))
    del keras
    return key, out, result, held, float_out


def dequantize(q, info):
    return (q.astype(np.float32) - info["zero_point"]) * np.float32(info["scale"])


def test_c_equals_reference(case):
    key, out, result, held, _ = case
    graph = serialize.load(out / ".tinygen")
    ours = tinygen.run(out, [held[:3]])[0]
    for i in range(3):
        xq = tinygen.verify.runner.quantize_input(held[i:i + 1].reshape(graph.tensors[graph.inputs[0]].shape),
                                           result.report["inputs"][0])
        ref = run_reference(graph, [xq])[0]
        assert np.array_equal(ours[i].reshape(ref.shape), ref), key


def test_accuracy_against_float(case):
    key, out, result, held, float_out = case
    q = tinygen.run(out, [held])[0]
    deq = dequantize(q, result.report["outputs"][0]).reshape(float_out.shape)
    if key == "ad":
        err_f = np.mean((held - float_out.reshape(held.shape)) ** 2)
        err_q = np.mean((held - deq.reshape(held.shape)) ** 2)
        print(f"AD reconstruction MSE float {err_f:.4f} int8 {err_q:.4f}")
        assert abs(err_q - err_f) <= 0.05 * err_f
    else:
        agree = np.mean(np.argmax(deq, axis=-1) == np.argmax(float_out, axis=-1))
        print(f"{key}: top-1 agreement {100 * agree:.1f}% on {len(held)} held inputs")
        assert agree >= 0.98, f"{key}: top-1 agreement {agree:.3f}"
