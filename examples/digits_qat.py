"""Quantization-aware training on scikit-learn's digits: float vs PTQ vs QAT, exported and run as C.

A narrow CNN (conv 8 + BN + ReLU, strided conv 16 + BN + ReLU, dense 10) is trained in float, then:
int8 PTQ (tinygen.compile + tinygen.run), 4-bit weights by PTQ (no training) and by QAT (fine-tuned),
and QAT with 8-bit stochastically rounded gradients. 4-bit weights use ONE scale per tensor (+-7):
per-channel 4-bit loses under 1 point on this easy task, so per-tensor makes the PTQ gap visible.
Every integer accuracy is measured by running the generated C on the host; the NumPy reference is
checked to give the same outputs. Fixed seeds, CPU, about 1-2 minutes.
Run: .venv/bin/python examples/digits_qat.py
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402

FLOAT_EPOCHS, QAT_EPOCHS = 30, 8
OUT = ROOT / "out" / "digits_qat"


def build_model():
    import keras
    from keras import layers

    return keras.Sequential([
        keras.Input((8, 8, 1)),
        layers.Conv2D(8, 3, padding="same", use_bias=False, name="conv1"),
        layers.BatchNormalization(name="bn1"),
        layers.ReLU(name="relu1"),
        layers.Conv2D(16, 3, strides=2, padding="same", use_bias=False, name="conv2"),
        layers.BatchNormalization(name="bn2"),
        layers.ReLU(name="relu2"),
        layers.Flatten(name="flat"),
        layers.Dense(10, name="logits"),
        layers.Softmax(name="softmax"),
    ], name="digits_narrow")


def fit(model, x, y, epochs: int, lr: float, label: str) -> None:
    import keras

    print(f"--- training: {label} ({epochs} epochs)", flush=True)
    model.compile(optimizer=keras.optimizers.Adam(lr), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=2, shuffle=True)


def run_c(model_or_graph, name: str, x: np.ndarray, calibration=None):
    """Compile to C, run every sample on the host: (dequantized outputs, int8 outputs, result)."""
    import tinygen

    result = tinygen.compile(model_or_graph, OUT / name, calibration=calibration, firmware=False)
    q = tinygen.run(OUT / name, x)[0].reshape(len(x), -1)
    out = result.report["outputs"][0]
    return (q.astype(np.float32) - out["zero_point"]) * np.float32(out["scale"]), q, result


def reference(graph, x: np.ndarray) -> np.ndarray:
    """tinygen's bit-exact NumPy int8 reference over every sample (int8 outputs)."""
    from tinygen.verify.runner import quantize_input
    from tinygen.verify.testing import run_reference

    t = graph.tensors[graph.inputs[0]]
    info = {"name": t.name, "dtype": t.dtype, "scale": t.scale, "zero_point": t.zero_point}
    xq = quantize_input(x.astype(np.float32), info)
    return np.stack([run_reference(graph, [s[None]])[0].reshape(-1) for s in xq])


def accuracy(probs: np.ndarray, y: np.ndarray) -> float:
    return 100.0 * float(np.mean(np.argmax(probs, axis=1) == y))


def main() -> int:
    import keras

    from digits_data import load_digits_split
    from tinygen.quant import qat
    from tinygen.quant.qat.quantizers import IntQuantizer

    t0 = time.time()
    keras.utils.set_random_seed(0)
    x_tr, y_tr, x_te, y_te = load_digits_split()
    calib = x_tr[:200]
    int4 = IntQuantizer(4, per_channel=False)

    model = build_model()
    fit(model, x_tr, y_tr, FLOAT_EPOCHS, 3e-3, "float CNN")
    a_float = accuracy(model.predict(x_te, verbose=0), y_te)

    p8, _, _ = run_c(model, "ptq_int8", x_te, calibration=calib)
    a_ptq8 = accuracy(p8, y_te)

    # PTQ-int4: the QAT rewrite with no training = weights rounded to +-7 (BN folded first), ranges
    # from min/max over the calibration set, then the int8 pipeline with those weights.
    ptq4 = qat.quantize_model(model, weights=int4)
    qat.calibrate(ptq4, calib)
    p4, _, _ = run_c(qat.to_graph(ptq4), "ptq_int4", x_te)
    a_ptq4 = accuracy(p4, y_te)

    results = {}
    for bits in (None, 8):
        keras.utils.set_random_seed(1)
        qm = qat.quantize_model(model, weights=int4, gradient_bits=bits)
        qat.calibrate(qm, calib)  # start from the PTQ ranges, then fine-tune them with the weights
        fit(qm, x_tr, y_tr, QAT_EPOCHS, 1e-3, f"QAT int4 weights, {bits or 32}-bit gradients")
        graph = qat.to_graph(qm)
        deq, q, _ = run_c(graph, f"qat_int4_g{bits or 32}", x_te)
        ref = reference(graph, x_te)
        fake = qm.predict(x_te, verbose=0)
        results[bits] = dict(model=qm, c=accuracy(deq, y_te), ref=accuracy(ref, y_te), fake=accuracy(fake, y_te),
                             c_eq_ref=bool(np.array_equal(q, ref)), agree=100.0 * float(np.mean(
                                 np.argmax(fake, 1) == np.argmax(deq, 1))), diff=float(np.mean(np.abs(fake - deq))))
    qat32, qat8 = results[None], results[8]
    path = OUT / "qat_int4.keras"
    qat32["model"].save(path)
    reloaded = qat.to_graph(path)  # what `tinygen build out/digits_qat/qat_int4.keras` compiles
    same_after_reload = np.array_equal(reference(reloaded, x_te[:20]), reference(qat.to_graph(qat32["model"]),
                                                                                 x_te[:20]))
    mem = qat.gradient_memory(qat8["model"])

    rows = [
        ("float CNN (Keras)", a_float, ""),
        ("int8 PTQ (C on host)", a_ptq8, f"{a_ptq8 - a_float:+.2f} vs float"),
        ("int4 weights PTQ, per-tensor (C on host)", a_ptq4, f"{a_ptq4 - a_float:+.2f} vs float"),
        ("int4 weights QAT, fp32 grads (C on host)", qat32["c"],
         f"{qat32['c'] - a_float:+.2f} vs float, {qat32['c'] - a_ptq4:+.2f} vs PTQ-int4"),
        ("int4 weights QAT, 8-bit grads (C on host)", qat8["c"], f"{qat8['c'] - qat32['c']:+.2f} vs fp32 grads"),
    ]
    print()
    print(f"digits test set: {len(y_te)} images; per-tensor 4-bit weights; {FLOAT_EPOCHS} float + "
          f"{QAT_EPOCHS} QAT epochs")
    print(f"| {'model':<44} | {'top-1 %':>7} | note")
    print(f"|{'-' * 46}|{'-' * 9}|{'-' * 40}")
    for name, acc, note in rows:
        print(f"| {name:<44} | {acc:7.2f} | {note}")
    print()
    for bits, r in ((32, qat32), (8, qat8)):
        print(f"QAT ({bits}-bit grads) export: C accuracy {r['c']:.2f} == NumPy reference {r['ref']:.2f}; C outputs "
              f"== reference bit for bit: {r['c_eq_ref']}; Keras fake-quant {r['fake']:.2f}; top-1 agreement "
              f"Keras vs C {r['agree']:.2f}%, mean |prob diff| {r['diff']:.5f}")
    print(f"gradient memory per step: float32 {mem['float32_bytes']} B, 8-bit {mem['quantized_bytes']} B "
          f"({100 * mem['saving']:.1f}% less)")
    print(f"saved QAT model {path.relative_to(ROOT)} reloads and exports identically: {same_after_reload}")
    print(f"total time {time.time() - t0:.0f} s")
    ok = (a_ptq8 >= a_float - 1 and qat32["c"] >= a_float - 1.5 and qat32["c"] > a_ptq4
          and abs(qat8["c"] - qat32["c"]) <= 1 and all(r["c_eq_ref"] and r["c"] == r["ref"] for r in (qat32, qat8))
          and same_after_reload)
    print("all targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
