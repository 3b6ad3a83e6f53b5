"""The SIMD (DSP) path of the 16x8 CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED kernels (runtime_c/include/
tg_dsp_s16.h, and the fast kernels of tg_s16_fast.h the lowering takes where their bounds hold) against TFLM
and against the portable path, byte for byte. Every host case runs twice: with the fast kernels where they
apply, and with the general kernels forced (the fast bounds made to fail).

Each case is one Keras layer quantized by tinygen with int16 activations and exported as .tflite for TFLM.
The generated C runs twice on the host: the portable branch, and the device branch (kernel_path="device":
the branch Cortex-M4 firmware runs, its DSP instructions and inline assembly emulated in C). Both must
equal TFLM on calibration-like samples, full-range random samples, all-min and all-max inputs. The shapes
cover the branches of the kernels: three-channel blocks and leftover channels, tap rows as one run (ungrouped,
undilated) and tap by tap (grouped, dilated), windows of more than 256 products (int32 sums emptied into
int64), input runs not a multiple of four, padding on every side, depth multiplier 1 (SIMD) and 2
(portable), windows of more than 256 taps (portable). Six cases run as Cortex-M4 firmware under QEMU
against TFLM, seven on the emulated device path under ASan + UBSan.
"""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from tinygen.compiler import load_model, lower, quantize
from tinygen.verify.export_tflite import to_bytes
from tinygen.verify.testing import host_model_for


def _layer(kind: str):
    """(Keras layer factory, input shape without batch) of one case."""
    import keras

    L = keras.layers
    return {
        "conv1x1": (lambda: L.Conv2D(64, 1), (5, 4, 64)),
        "conv1x1_odd": (lambda: L.Conv2D(7, 1), (3, 3, 13)),
        "conv_tall_pad": (lambda: L.Conv2D(10, (10, 4), strides=2, padding="same"), (12, 7, 1)),
        "conv_3x3_s2": (lambda: L.Conv2D(8, 3, strides=2, padding="same"), (9, 8, 3)),
        "conv_dilated": (lambda: L.Conv2D(6, 3, dilation_rate=2, padding="same"), (8, 7, 5)),
        "conv_groups3": (lambda: L.Conv2D(6, 3, groups=2, padding="same"), (6, 6, 6)),
        "conv_groups2": (lambda: L.Conv2D(8, 3, groups=4), (6, 5, 8)),
        "conv_deep": (lambda: L.Conv2D(5, 3, padding="same"), (5, 5, 41)),
        "conv1x1_deep": (lambda: L.Conv2D(4, 1), (2, 3, 301)),
        "depthwise": (lambda: L.DepthwiseConv2D(3, padding="same"), (7, 6, 8)),
        "depthwise_odd_s2": (lambda: L.DepthwiseConv2D(3, strides=2, padding="same"), (9, 9, 7)),
        "depthwise_dilated": (lambda: L.DepthwiseConv2D(3, dilation_rate=2, padding="same"), (8, 8, 6)),
        "depthwise_m2": (lambda: L.DepthwiseConv2D(3, depth_multiplier=2, padding="same"), (6, 5, 5)),
        "depthwise_wide": (lambda: L.DepthwiseConv2D(17, padding="same"), (17, 17, 4)),
        "dense": (lambda: L.Dense(7), (12,)),
        "dense_deep": (lambda: L.Dense(5, activation="relu"), (301,)),
        "dense_batched": (lambda: L.Dense(6), (3, 10)),
    }[kind]


KINDS = ("conv1x1", "conv1x1_odd", "conv_tall_pad", "conv_3x3_s2", "conv_dilated", "conv_groups3", "conv_groups2",
         "conv_deep", "conv1x1_deep", "depthwise", "depthwise_odd_s2", "depthwise_dilated", "depthwise_m2",
         "depthwise_wide", "dense", "dense_deep", "dense_batched")


def _graph(kind: str):
    """(16x8 graph, float calibration samples) of a one-layer Keras model with a random bias."""
    import keras

    keras.utils.set_random_seed(3)
    make, shape = _layer(kind)
    layer = make()
    x = keras.Input(shape)
    model = keras.Model(x, layer(x))
    rng = np.random.default_rng(1)
    weights = layer.get_weights()
    if len(weights) > 1:
        weights[1] = rng.standard_normal(weights[1].shape).astype(np.float32)
        layer.set_weights(weights)
    calib = (rng.standard_normal((24,) + shape) * 2).astype(np.float32)
    return quantize(load_model(model), calib, activations="int16"), calib


def _samples(graph, calib) -> list:
    t = graph.tensors[graph.inputs[0]]
    rng = np.random.default_rng(5)
    xs = [np.clip(np.round(s / t.scale), -32768, 32767) for s in calib[:3]]
    xs += [rng.integers(-32768, 32768, size=t.shape[1:]) for _ in range(2)]
    xs += [np.full(t.shape[1:], v) for v in (-32768, 32767)]
    return [[np.asarray(x, np.int16).reshape(t.shape)] for x in xs]


def _tflm(data: bytes):
    from tflite_micro.python.tflite_micro import runtime

    return runtime.Interpreter.from_bytes(data, arena_size=len(data) * 10 + (1 << 20))


GENERAL = {"tg_conv2d_s16", "tg_depthwise_conv2d_s16", "tg_fully_connected_s16"}
FAST = {"tg_conv2d_s16_fast", "tg_depthwise_conv2d_s16_fast"}  # FULLY_CONNECTED runs as a 1x1 conv


def _general_only(monkeypatch) -> None:
    """Make every layer fail the fast kernels' bounds, so the general 16x8 kernels are chosen."""
    from tinygen.lower import int16_fast

    monkeypatch.setattr(int16_fast, "fast_tail", lambda *args: None)


@pytest.mark.parametrize("kernels", ("fast", "general"))
@pytest.mark.parametrize("kind", KINDS)
def test_dsp_path_equals_portable_and_tflm(kind, kernels, monkeypatch):
    if kernels == "general":
        _general_only(monkeypatch)
    graph, calib = _graph(kind)
    fns = {lop.c_function for lop in lower(graph)}
    general_anyway = kind == "depthwise_m2"  # depth multiplier 2 always takes the general kernel
    assert fns & (FAST if kernels == "fast" and not general_anyway else GENERAL), fns
    interp = _tflm(to_bytes(graph))
    portable = host_model_for(graph)
    device = host_model_for(graph, kernel_path="device")
    for k, xs in enumerate(_samples(graph, calib)):
        interp.set_input(xs[0], 0)
        interp.invoke()
        want = np.array(interp.get_output(0))
        assert want.dtype == np.int16
        for path, model in (("portable", portable), ("device", device)):
            got = np.asarray(model(xs)[0]).reshape(want.shape)
            diff = int(np.abs(got.astype(np.int64) - want.astype(np.int64)).max())
            assert got.tobytes() == want.tobytes(), f"sample {k}, {path} path: max |C - TFLM| = {diff}"


def test_dsp_path_under_qemu_equals_tflm(tmp_path):
    """A few cases as Cortex-M4 firmware (the real SIMD instructions and assembly) == TFLM on the same file."""
    import tinygen
    from tinygen.verify import qemu

    if shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None:
        pytest.fail("qemu-system-arm and arm-none-eabi-gcc are needed")
    for kind in ("conv_tall_pad", "conv1x1_odd", "conv_groups3", "conv_deep", "depthwise_odd_s2", "dense_deep"):
        graph, calib = _graph(kind)
        data = to_bytes(graph)
        path = tmp_path / f"{kind}.tflite"
        path.write_bytes(data)
        samples = _samples(graph, calib)
        out = tmp_path / kind
        tinygen.compile(str(path), out, board="cortex-m4")
        got = qemu.run_qemu(out, [np.stack([s[0][0] for s in samples])])[0]
        interp = _tflm(data)
        for k, xs in enumerate(samples):
            interp.set_input(xs[0], 0)
            interp.invoke()
            want = np.array(interp.get_output(0))
            assert got[k].reshape(want.shape).tobytes() == want.tobytes(), (kind, k)


@pytest.mark.parametrize("kind", ("conv_tall_pad", "conv1x1_odd", "conv_groups3", "conv_deep", "depthwise_odd_s2",
                                  "depthwise_wide", "dense_deep"))
def test_dsp_path_under_sanitizers(kind, tmp_path):
    """The emulated device path under ASan + UBSan: no report, outputs equal to both ordinary host builds."""
    from test_hardening import sanitized_run_equals_normal_builds

    graph, calib = _graph(kind)
    sanitized_run_equals_normal_builds(graph, tmp_path, _samples(graph, calib), "device", kind)
