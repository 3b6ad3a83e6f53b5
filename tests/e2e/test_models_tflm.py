"""End to end: every shared int8 .tflite builds, and the generated C equals TFLM's interpreter byte for byte.

Inputs per model: 18 random over the full int8 range, all -128, all 127, and the real samples the
shared folder carries. The NumPy reference is checked against the C on a few of them.
"""
from __future__ import annotations

import struct

import numpy as np
import pytest

import tinygen
from oracle import INT8_MODELS, tflm_interpreter
from tinygen.ir import serialize
from tinygen.verify.testing import run_reference

MODELS = dict(INT8_MODELS)


def read_bmp_gray(path) -> np.ndarray:
    """8-bit grayscale BMP -> (H, W) uint8, rows top to bottom."""
    data = path.read_bytes()
    offset = struct.unpack_from("<I", data, 10)[0]
    width, height = struct.unpack_from("<ii", data, 18)
    stride = (width + 3) & ~3
    rows = [np.frombuffer(data, np.uint8, width, offset + r * stride) for r in range(abs(height))]
    img = np.stack(rows)
    return img[::-1] if height > 0 else img


def real_samples(key: str, models_dir, shape, quant) -> list:
    """The real inputs the shared folder carries for a model, as int8 arrays of `shape`."""
    scale, zp = quant

    def q(x):
        v = np.asarray(x, np.float32) / np.float32(scale)
        v = np.where(v >= 0, np.floor(v + 0.5), np.ceil(v - 0.5)) + zp
        return np.clip(v, -128, 127).astype(np.int8)

    if key == "kws":
        return [np.load(models_dir / "mlperf/kws/sample_input_int8.npy").reshape(shape)]
    if key == "ad":
        windows = np.load(models_dir / "mlperf/ad/sample_windows_float32.npy")
        return [q(w).reshape(shape) for w in windows[::40]]
    if key == "sww":
        with np.load(models_dir / "mlperf/sww/calibration_samples.npz") as z:
            arr = z[z.files[0]]
        return [q(a).reshape(shape) for a in arr[:5] if a.size == int(np.prod(shape))]
    if key == "person_detect":
        out = []
        for name in ("person.bmp", "no_person.bmp"):
            img = read_bmp_gray(models_dir / "tflm/person_detection" / name).astype(np.int16) - 128
            out.append(img.astype(np.int8).reshape(shape))
        return out
    return []


@pytest.fixture(scope="module", params=sorted(MODELS))
def built(request, models_dir, tmp_path_factory):
    key = request.param
    path = models_dir / MODELS[key]
    out = tmp_path_factory.mktemp(key) / "out"
    result = tinygen.compile(str(path), out, board="cortex-m4", name=key)
    return key, path, out, result


def test_bit_exact_with_tflm(built, models_dir):
    key, path, out, result = built
    inp = result.report["inputs"][0]
    shape = tuple(inp["shape"])
    rng = np.random.default_rng(1234)
    samples = [rng.integers(-128, 128, size=shape, dtype=np.int64).astype(np.int8) for _ in range(18)]
    samples += [np.full(shape, -128, np.int8), np.full(shape, 127, np.int8)]
    samples += real_samples(key, models_dir, shape, (inp["scale"], inp["zero_point"]))
    assert len(samples) >= 20
    batch = np.stack([s.reshape(shape) for s in samples]).reshape((len(samples),) + tinygen_sample(shape))
    ours = tinygen.run(out, [batch])[0]
    interp = tflm_interpreter(path)
    differing = 0
    for i, s in enumerate(samples):
        interp.set_input(s.reshape(shape), 0)
        interp.invoke()
        ref = np.asarray(interp.get_output(0))
        differing += int(np.count_nonzero(ours[i].reshape(ref.shape) != ref))
    assert differing == 0, f"{key}: {differing} bytes differ from TFLM over {len(samples)} inputs"


def tinygen_sample(shape):
    return tuple(shape[1:]) if shape and shape[0] == 1 else tuple(shape)


def test_c_equals_numpy_reference(built):
    key, path, out, result = built
    graph = serialize.load(out / ".tinygen")
    inp = result.report["inputs"][0]
    shape = tuple(inp["shape"])
    rng = np.random.default_rng(7)
    xs = [rng.integers(-128, 128, size=shape, dtype=np.int64).astype(np.int8), np.full(shape, 127, np.int8)]
    batch = np.stack(xs).reshape((len(xs),) + tinygen_sample(shape))
    ours = tinygen.run(out, [batch])[0]
    for i, x in enumerate(xs):
        ref = run_reference(graph, [x])[0]
        assert np.array_equal(ours[i].reshape(ref.shape), ref), key
