"""Train the bundled example: a small CNN on scikit-learn's digits (fixed seeds, CPU, ~20 s).

Writes examples/digits_cnn.keras and examples/digits_calib.npy (200 training samples for PTQ).
Run: .venv/bin/python examples/train_digits.py
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402


def build_model():
    import keras
    from keras import layers

    return keras.Sequential([
        keras.Input((8, 8, 1)),
        layers.Conv2D(16, 3, padding="same", use_bias=False, name="conv1"),
        layers.BatchNormalization(name="bn1"),
        layers.ReLU(name="relu1"),
        layers.MaxPooling2D(2, name="pool1"),
        layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2"),
        layers.DepthwiseConv2D(3, padding="same", activation="relu", name="dw3"),
        layers.GlobalAveragePooling2D(name="gap"),
        layers.Dropout(0.2, name="drop"),
        layers.Dense(10, name="logits"),
        layers.Softmax(name="softmax"),
    ], name="digits_cnn")


def main() -> None:
    import keras
    from digits_data import load_digits_split

    keras.utils.set_random_seed(0)
    x_tr, y_tr, x_te, y_te = load_digits_split()
    model = build_model()
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x_tr, y_tr, epochs=40, batch_size=32, verbose=2, validation_split=0.1)
    acc = model.evaluate(x_te, y_te, verbose=0)[1]
    print(f"float test accuracy: {acc:.4f}")
    model.save(HERE / "digits_cnn.keras")
    np.save(HERE / "digits_calib.npy", x_tr[:200])


if __name__ == "__main__":
    main()
