"""Zoo vision models end to end: the generated C (host build) equals TFLM's interpreter byte for byte on
every output, over 20 random inputs of the model's input type (18 random over the full range, then the
type's minimum and maximum everywhere).

- tflm__id_model: identity-embedding CNN with LEAKY_RELU, RESIZE_NEAREST_NEIGHBOR, CONCATENATION,
  EXPAND_DIMS (int8 in, int8 out).
- openmv__palm_detection_full_192: MediaPipe palm detector with a uint8 input through QUANTIZE, PRELU,
  RESIZE_BILINEAR and two float32 outputs through DEQUANTIZE.
"""
from __future__ import annotations

import numpy as np
import pytest

from oracle import num_outputs
from tinygen.compiler import load_model, lower
from tinygen.verify.testing import host_model_for, run_reference
from tinygen.verify.tflm import tflm_interpreter

ZOO = {"id_model": ("zoo/tflm__id_model.tflite", {"RESIZE_NEAREST_NEIGHBOR", "LEAKY_RELU"}),
       "palm": ("zoo/openmv__palm_detection_full_192.tflite",
                {"PRELU", "RESIZE_BILINEAR", "QUANTIZE", "DEQUANTIZE"})}
N_SAMPLES = 20


def _samples(graph, rng) -> list:
    t = graph.tensors[graph.inputs[0]]
    info = np.iinfo(np.dtype(t.dtype))
    out = [rng.integers(int(info.min), int(info.max), size=t.shape, endpoint=True).astype(t.dtype)
           for _ in range(N_SAMPLES - 2)]
    return out + [np.full(t.shape, info.min, t.dtype), np.full(t.shape, info.max, t.dtype)]


@pytest.mark.parametrize("key", sorted(ZOO))
def test_zoo_model_equals_tflm(key, models_dir):
    from tflite_micro.python.tflite_micro import runtime

    rel, kinds = ZOO[key]
    path = models_dir / rel
    graph = load_model(str(path))
    assert kinds <= {op.kind.value for op in graph.ops}
    lowered = lower(graph)
    model = host_model_for(graph, name=key)
    interp = tflm_interpreter(runtime, path.read_bytes())
    assert interp is not None, "TFLM could not allocate the model"
    n_out = num_outputs(path)
    assert n_out == len(graph.outputs)
    samples = _samples(graph, np.random.default_rng(20261205))
    for k, x in enumerate(samples):
        interp.set_input(x, 0)
        interp.invoke()
        want = [np.array(interp.get_output(i)) for i in range(n_out)]
        got = model([x])
        for i, (w, g) in enumerate(zip(want, got)):
            g = np.asarray(g).reshape(w.shape)
            assert g.dtype == w.dtype and g.tobytes() == w.tobytes(), \
                f"sample {k}, output {i}: {int(np.count_nonzero(g != w))} values differ from TFLM"
        if k in (0, N_SAMPLES - 1):  # the NumPy references agree too (slow on the palm model: two samples)
            ref = run_reference(graph, [x], lowered)
            for i, (w, r) in enumerate(zip(want, ref)):
                assert np.asarray(r).reshape(w.shape).tobytes() == w.tobytes(), f"sample {k}, output {i}: reference"


@pytest.mark.qemu
@pytest.mark.parametrize("key", sorted(ZOO))
def test_zoo_firmware_under_qemu_equals_tflm(key, models_dir, tmp_path):
    """The same models as Cortex-M4 firmware (built with -Werror, run under QEMU) on three inputs."""
    import shutil

    import tinygen
    from tflite_micro.python.tflite_micro import runtime

    missing = [t for t in ("arm-none-eabi-gcc", "qemu-system-arm", "make") if shutil.which(t) is None]
    if missing:
        pytest.fail(f"missing tools {missing}: run `make sysdeps`")
    path = models_dir / ZOO[key][0]
    out = tmp_path / key
    tinygen.compile(str(path), out, board="cortex-m4", name=key)
    assert "-Werror" in (out / "Makefile").read_text()
    graph = load_model(str(path))
    xs = _samples(graph, np.random.default_rng(7))[-3:]  # one random sample, the minimum, the maximum
    t = graph.tensors[graph.inputs[0]]
    sample = t.shape[1:] if t.shape[0] == 1 else t.shape
    on_target = tinygen.run(out, [np.stack(xs).reshape((len(xs),) + tuple(sample))], target="qemu")
    interp = tflm_interpreter(runtime, path.read_bytes())
    for k, x in enumerate(xs):
        interp.set_input(x, 0)
        interp.invoke()
        for i in range(len(graph.outputs)):
            want = np.array(interp.get_output(i))
            got = np.asarray(on_target[i][k]).reshape(want.shape)
            assert got.dtype == want.dtype and got.tobytes() == want.tobytes(), f"sample {k}, output {i}"
