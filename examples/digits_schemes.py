"""Every weight scheme on scikit-learn's digits: flash bytes, PTQ accuracy and QAT accuracy, all as C.

The narrow digits CNN of examples/digits_qat.py (conv 8 + BN + ReLU, strided conv 16 + BN + ReLU,
dense 10, softmax) is trained in float, then compiled with every weight scheme of tinygen.quant.weights
(int8, int8c, int4, kmeans4, kmeans3, kmeans2, ternary, binary) by PTQ (`tinygen.compile(model, out,
calibration=..., weights=S)`), and by mixed precision (`weights="auto"`, flash budget halfway between
the int4 and int8 builds). Schemes whose PTQ accuracy is more than 1 point below float, and always
int4, kmeans2, ternary and binary, are also fine-tuned by QAT with the matching weight quantizer
(tinygen.qat; the exported weights carry the scheme's encoding, so they compile to the same packed
kernels). Every integer accuracy comes from running the generated C on the host (tinygen.run), and
the C outputs are checked to equal tinygen's NumPy reference on every test image.

Fixed seeds (float: 0, QAT: 1), CPU, about 2-4 minutes on 2 cores.
Run: .venv/bin/python examples/digits_schemes.py      (writes out/digits_schemes.md)
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

from digits_qat import FLOAT_EPOCHS, accuracy, build_model, fit, reference  # noqa: E402

SCHEMES = ("int8", "int8c", "int4", "kmeans4", "kmeans3", "kmeans2", "ternary", "binary")
ALWAYS_QAT = ("int4", "kmeans2", "ternary", "binary")
QAT_EPOCHS, QAT_LR = 8, 1e-3
OUT = ROOT / "out" / "digits_schemes"
COMMAND = ".venv/bin/python examples/digits_schemes.py"


def qat_quantizer(scheme: str):
    """The QAT weight quantizer whose codes `scheme` stores (None: no QAT counterpart)."""
    from tinygen.quant import qat

    return {"int8": "int8", "int4": qat.IntQuantizer(4), "kmeans4": "kmeans4", "kmeans3": "kmeans3",
            "kmeans2": "kmeans2", "ternary": qat.TernaryQuantizer("optimal"), "binary": "binary"}.get(scheme)


def build_and_run(model, name: str, x: np.ndarray, **kwargs) -> dict:
    """Compile, run every sample through the C on the host, and compare with the NumPy reference."""
    import tinygen

    result = tinygen.compile(model, OUT / name, firmware=False, **kwargs)
    q = tinygen.run(OUT / name, x)[0].reshape(len(x), -1)
    ref = reference(result.graph, x)
    rep = result.report
    layers = set(rep["weight_schemes"])
    return dict(
        q=q, c_eq_ref=bool(np.array_equal(q, ref)), report=rep,
        layer_bytes=sum(L["weight_bytes"] for L in rep["layers"] if L["name"] in layers),
        weights_bytes=rep["weights_bytes"], schemes=dict(rep["weight_schemes"]),
        kernels=sorted({L["kernel"] for L in rep["layers"] if L["name"] in layers}))


def main() -> int:
    import keras

    from digits_data import load_digits_split
    from tinygen.quant import qat
    from tinygen.quant import weights as wq

    t0 = time.time()
    keras.utils.set_random_seed(0)
    x_tr, y_tr, x_te, y_te = load_digits_split()
    calib = x_tr[:200]

    model = build_model()
    fit(model, x_tr, y_tr, FLOAT_EPOCHS, 3e-3, "float CNN")
    a_float = accuracy(model.predict(x_te, verbose=0), y_te)

    rows, checks = [], []
    for scheme in SCHEMES:
        r = build_and_run(model, f"ptq_{scheme}", x_te, calibration=calib, weights=scheme)
        r["acc"] = accuracy(r["q"], y_te)  # argmax of the int8 outputs = argmax of the dequantized ones
        checks.append((f"PTQ {scheme}", r))
        row = dict(scheme=scheme, bits=wq.BITS[scheme], ptq=r, qat=None)
        quantizer = qat_quantizer(scheme)
        if quantizer is not None and (scheme in ALWAYS_QAT or r["acc"] < a_float - 1):
            keras.utils.set_random_seed(1)
            qm = qat.quantize_model(model, weights=quantizer)
            qat.calibrate(qm, calib)  # start from PTQ ranges, then fine-tune weights and ranges together
            fit(qm, x_tr, y_tr, QAT_EPOCHS, QAT_LR, f"QAT {scheme}")
            rq = build_and_run(qm, f"qat_{scheme}", x_te)
            rq["acc"] = accuracy(rq["q"], y_te)
            fake = qm.predict(x_te, verbose=0)
            rq["fake_agree"] = 100.0 * float(np.mean(np.argmax(fake, 1) == np.argmax(rq["q"], 1)))
            rq["quantizer"] = qm.get_layer("conv1").weight_quantizer
            checks.append((f"QAT {scheme}", rq))
            row["qat"] = rq
        rows.append(row)

    by = {row["scheme"]: row for row in rows}
    budget = (by["int4"]["ptq"]["weights_bytes"] + by["int8"]["ptq"]["weights_bytes"]) // 2
    mixed = build_and_run(model, "ptq_auto", x_te, calibration=calib, weights="auto", budget_flash=budget)
    mixed["acc"] = accuracy(mixed["q"], y_te)
    checks.append(("PTQ auto", mixed))

    def delta(acc):
        return f"{acc - a_float:+.2f}"

    lines = [
        f"| weights | bits / weight | Σ conv/dense layers' weight_bytes | report weights_bytes | "
        f"PTQ top-1 % (C) | PTQ vs float | QAT top-1 % (C) | QAT vs float |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        f"| float (Keras) | 32 | {4 * model.count_params()} (float32 parameters) | | {a_float:.2f} | | | |",
    ]
    for row in rows:
        p, q = row["ptq"], row["qat"]
        qat_cells = f"{q['acc']:.2f} | {delta(q['acc'])}" if q else "- | -"
        bytes_note = "" if not q or q["weights_bytes"] == p["weights_bytes"] else f" (QAT: {q['weights_bytes']})"
        lines.append(f"| {row['scheme']} | {row['bits']} | {p['layer_bytes']} | {p['weights_bytes']}{bytes_note} | "
                     f"{p['acc']:.2f} | {delta(p['acc'])} | {qat_cells} |")
    chosen = ", ".join(f"{k}={v}" for k, v in mixed["schemes"].items())
    lines.append(f"| auto, budget {budget} B ({chosen}) | mixed | {mixed['layer_bytes']} | {mixed['weights_bytes']} | "
                 f"{mixed['acc']:.2f} | {delta(mixed['acc'])} | - | - |")
    table = "\n".join(lines)

    all_equal = all(r["c_eq_ref"] for _, r in checks)
    lowbit_ok = all(all(k.endswith(("_lb", "_lbx", "_usad", "_usad_t")) for k in r["kernels"]) for name, r in checks
                    if name.split()[1] not in ("int8", "int8c", "auto"))
    notes = [
        f"digits test set: {len(y_te)} images (train {len(y_tr)}, calibration = first 200 training images); "
        f"float {FLOAT_EPOCHS} epochs (Adam 3e-3, seed 0), QAT {QAT_EPOCHS} epochs (Adam {QAT_LR:g}, seed 1) "
        f"from the float weights and the calibrated PTQ ranges.",
        f"C outputs == NumPy reference outputs, every build, all {len(y_te)} images: {all_equal}.",
        f"low-bit builds (PTQ and QAT) run the low-bit kernels (tg_*_lb, tg_*_lbx, tg_conv2d_usad, tg_*_usad_t): {lowbit_ok}.",
        "QAT quantizers: " + ", ".join(f"{row['scheme']}: {row['qat']['quantizer']!r}" for row in rows if row["qat"])
        + ".",
        "Keras fake-quant vs C top-1 agreement (QAT): " + ", ".join(
            f"{row['scheme']} {row['qat']['fake_agree']:.2f}%" for row in rows if row["qat"]) + ".",
        f"Mixed precision: weights=\"auto\", budget_flash={budget} (halfway between int4 "
        f"{by['int4']['ptq']['weights_bytes']} B and int8 {by['int8']['ptq']['weights_bytes']} B).",
        f"Command: `{COMMAND}` ({time.time() - t0:.0f} s on this machine).",
    ]
    text = table + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"
    print()
    print(text)
    for name, r in checks:
        if not r["c_eq_ref"]:
            print(f"MISMATCH: {name}: C outputs differ from the NumPy reference")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    (ROOT / "out" / "digits_schemes.md").write_text(text)
    print(f"wrote {(ROOT / 'out' / 'digits_schemes.md').relative_to(ROOT)}")
    return 0 if all_equal and lowbit_ok else 1


if __name__ == "__main__":
    sys.exit(main())
