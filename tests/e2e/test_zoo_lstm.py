"""The Coral Keras-LSTM MNIST model (zoo/coraltd__keras_lstm_mnist_ptq.tflite: QUANTIZE, int8
UNIDIRECTIONAL_SEQUENCE_LSTM with an int16 cell state, FULLY_CONNECTED, SOFTMAX, uint8 I/O) against TFLM,
byte for byte: 20 inputs each from the initial state, then a sequence of invokes without a reset (the LSTM's
h and c carry over, in TFLM's interpreter as in the generated C), then the same after a reset."""
from __future__ import annotations

import numpy as np
import pytest

from oracle import MODELS, tflm_interpreter, tflm_run, tflm_run_with
from tinygen.compiler import load_model, lower
from tinygen.verify.testing import host_model_for, run_reference

ZOO_LSTM = MODELS / "zoo" / "coraltd__keras_lstm_mnist_ptq.tflite"
N_INPUTS = 20
N_SEQUENCE = 50


def _inputs(n: int, seed: int) -> list:
    """Digit-like strokes (a few bright bars on a dark field) and plain noise, uint8 [1, 28, 28]."""
    rng = np.random.default_rng(seed)
    xs = []
    for k in range(n):
        if k % 3 == 2:
            xs.append(rng.integers(0, 256, size=(1, 28, 28)).astype(np.uint8))
            continue
        img = np.zeros((28, 28), np.float32)
        for _ in range(rng.integers(1, 4)):
            r0, c0 = rng.integers(4, 24, size=2)
            r1, c1 = rng.integers(4, 24, size=2)
            for s in np.linspace(0, 1, 40):
                r, c = int(r0 + s * (r1 - r0)), int(c0 + s * (c1 - c0))
                img[max(r - 1, 0):r + 2, max(c - 1, 0):c + 2] = 255
        xs.append(np.clip(img + rng.normal(0, 10, img.shape), 0, 255).astype(np.uint8).reshape(1, 28, 28))
    return xs


@pytest.fixture(scope="module")
def zoo(models_dir):
    graph = load_model(str(ZOO_LSTM))
    return graph, lower(graph), host_model_for(graph)


def test_zoo_lstm_equals_tflm_on_every_output(zoo):
    graph, lowered, model = zoo
    n_out = len(graph.outputs)
    for k, x in enumerate(_inputs(N_INPUTS, 0)):
        want = tflm_run(ZOO_LSTM, [x])
        assert len(want) == n_out
        model.reset()
        got = model([x])
        ref = run_reference(graph, [x], lowered)
        for i, w in enumerate(want):
            assert np.asarray(got[i]).reshape(w.shape).tobytes() == w.tobytes(), f"input {k}: C output {i} differs"
            assert np.asarray(ref[i]).reshape(w.shape).tobytes() == w.tobytes(), \
                f"input {k}: reference output {i} differs"


def test_zoo_lstm_sequence_carries_state_like_tflm(zoo):
    """N_SEQUENCE invokes through one TFLM interpreter, one C instance and one NumPy reference state, no
    reset between them; then the C model's reset (and a fresh reference state) against a fresh
    interpreter, for a shorter sequence."""
    from tinygen.memory.state import initial_state

    graph, lowered, model = zoo
    xs = _inputs(N_SEQUENCE, 1)
    model.reset()
    for label, interp, run in (("no reset", tflm_interpreter(ZOO_LSTM), xs),
                               ("after reset", None, xs[:10])):
        if interp is None:
            model.reset()
            interp = tflm_interpreter(ZOO_LSTM)
        state = initial_state(graph)
        fresh = []
        for k, x in enumerate(run):
            (want,) = tflm_run_with(interp, [x], 1)
            (got,) = model([x])
            (ref,) = run_reference(graph, [x], lowered, state=state)
            assert np.asarray(got).reshape(want.shape).tobytes() == want.tobytes(), f"{label}: invoke {k} differs"
            assert np.asarray(ref).reshape(want.shape).tobytes() == want.tobytes(), \
                f"{label}: reference invoke {k} differs"
            fresh.append(tflm_run(ZOO_LSTM, [x])[0].tobytes() == want.tobytes())
        if label == "no reset":
            assert not all(fresh), "the state never changed an output: the sequence test proves nothing"


# ---- on target ----------------------------------------------------------------------------------


def _qemu_tools() -> None:
    import shutil

    missing = [t for t in ("arm-none-eabi-gcc", "qemu-system-arm", "make") if shutil.which(t) is None]
    if missing:
        pytest.fail(f"missing tools {missing}: run `make sysdeps`")


@pytest.mark.qemu
def test_zoo_lstm_firmware_under_qemu_equals_tflm(models_dir, tmp_path):
    """The Cortex-M4 firmware (the SMLAD assembly path): a sequence carrying the state, then every sample
    from the initial state (reset_each), against one TFLM interpreter and fresh ones."""
    import tinygen

    _qemu_tools()
    out = tmp_path / "zoo_lstm"
    tinygen.compile(str(ZOO_LSTM), out, board="cortex-m4", name="zoo_lstm")
    xs = _inputs(8, 2)
    batch = np.stack([x.reshape(28, 28) for x in xs])
    in_sequence = tinygen.run(out, [batch], target="qemu")[0]
    each = tinygen.run(out, [batch], target="qemu", reset_each=True)[0]
    interp = tflm_interpreter(ZOO_LSTM)
    for k, x in enumerate(xs):
        (want_seq,) = tflm_run_with(interp, [x], 1)
        (want_one,) = tflm_run(ZOO_LSTM, [x])
        assert np.asarray(in_sequence[k]).reshape(want_seq.shape).tobytes() == want_seq.tobytes(), f"sequence {k}"
        assert np.asarray(each[k]).reshape(want_one.shape).tobytes() == want_one.tobytes(), f"reset_each {k}"


@pytest.mark.qemu
def test_16x8_lstm_firmware_under_qemu_equals_tflm(tmp_path):
    """A written 16x8 LSTM (batch 3, time-major, cell clip) as Cortex-M4 firmware, every sample alone."""
    import tinygen
    from lstm_models import raw_lstm_model

    _qemu_tools()
    path = tmp_path / "lstm16.tflite"
    path.write_bytes(raw_lstm_model(units=6, features=7, steps=3, mode="int16", batch=3, time_major=True,
                                    cell_clip=1.0, cell_log2=-10))
    out = tmp_path / "lstm16"
    tinygen.compile(str(path), out, board="cortex-m4", name="lstm16")
    rng = np.random.default_rng(4)
    xs = [rng.integers(-32768, 32768, size=(3, 3, 7)).astype(np.int16) for _ in range(4)]
    got = tinygen.run(out, [np.stack(xs)], target="qemu", reset_each=True)[0]
    for k, x in enumerate(xs):
        (want,) = tflm_run(path, [x])
        assert np.asarray(got[k]).reshape(want.shape).tobytes() == want.tobytes(), f"sample {k}"
