"""The README's first command: build the bundled digits CNN with tinygen, run it, check it.

Quantizes examples/digits_cnn.keras with tinygen's PTQ (calibration: examples/digits_calib.npy),
generates C for a Cortex-M4 into out/digits, runs the C on the host over the test split, and
prints float vs int8 accuracy and the bit-exactness check against tinygen's NumPy reference.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402


def tinygen(*args: str) -> None:
    cmd = [sys.executable, "-m", "tinygen.cli", *args]
    print("$ tinygen " + " ".join(args), flush=True)
    subprocess.run(cmd, check=True)


def main() -> int:
    from digits_data import load_digits_split

    from tinygen.console import quiet

    out = ROOT / "out" / "digits"
    _, _, x_te, y_te = load_digits_split()
    with quiet():  # what TensorFlow prints as it starts is hidden, as in the tinygen command
        import keras

        model = keras.models.load_model(HERE / "digits_cnn.keras")
        float_acc = float(np.mean(np.argmax(model.predict(x_te, verbose=0), axis=1) == y_te))

    tinygen("build", str(HERE / "digits_cnn.keras"), "-o", str(out), "--force", "--board", "cortex-m4",
            "--calib", str(HERE / "digits_calib.npy"), "--name", "digits")
    np.save(ROOT / "out" / "digits_test_x.npy", x_te)
    tinygen("run", str(out), "--input", str(ROOT / "out" / "digits_test_x.npy"),
            "--output", str(ROOT / "out" / "digits_test_y.npy"))
    q = np.load(ROOT / "out" / "digits_test_y.npy")
    int8_acc = float(np.mean(np.argmax(q.reshape(len(y_te), -1), axis=1) == y_te))
    tinygen("verify", str(out), "--samples", "10")
    print()
    print(f"digits test set ({len(y_te)} images): float accuracy {100 * float_acc:.2f}%, "
          f"int8 C on host {100 * int8_acc:.2f}% (difference {100 * (float_acc - int8_acc):+.2f} points)")
    print(f"generated sources: {out / 'model'}; firmware Makefile: {out / 'Makefile'}")
    return 0 if float_acc - int8_acc <= 0.01 else 1


if __name__ == "__main__":
    sys.exit(main())
