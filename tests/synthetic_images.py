"""A synthetic 10-class image task for briefly training small vision models (keras.applications at
microcontroller size): each class is a colour and a stripe direction / frequency, with a random phase,
a random bright square and Gaussian noise. Deterministic for a seed; pixel values in [0, 1]."""
from __future__ import annotations

import numpy as np

CLASSES = 10
# class c: stripe colour, angle (radians) and period (pixels at 96x96)
_COLOURS = np.array([[1, .2, .2], [.2, 1, .2], [.2, .2, 1], [1, 1, .2], [1, .2, 1],
                     [.2, 1, 1], [1, .6, .2], [.6, .2, 1], [.9, .9, .9], [.5, 1, .5]], np.float32)
_ANGLES = np.arange(CLASSES) * (np.pi / CLASSES) * 3 % np.pi
_PERIODS = np.array([8, 12, 16, 24, 10, 20, 14, 18, 9, 28], np.float32)


def images(n: int, size: int, seed: int = 0) -> tuple:
    """(x float32 (n, size, size, 3) in [0, 1], y int (n,)): balanced classes, shuffled."""
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % CLASSES)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) * (96.0 / size)
    x = np.empty((n, size, size, 3), np.float32)
    for i, c in enumerate(y):
        a = _ANGLES[c] + rng.normal(0, 0.1)
        wave = 0.5 + 0.5 * np.sin(2 * np.pi * (xx * np.cos(a) + yy * np.sin(a)) / _PERIODS[c] + rng.uniform(0, 6.3))
        img = (0.55 + 0.45 * wave[..., None]) * _COLOURS[c] * rng.uniform(0.8, 1.0)
        s = int(rng.integers(size // 8, size // 4))
        r0, c0 = rng.integers(0, size - s, 2)
        img[r0:r0 + s, c0:c0 + s] = rng.uniform(0, 1, 3)
        x[i] = np.clip(img + rng.normal(0, 0.05, img.shape), 0, 1)
    return x, y


def train(model, x: np.ndarray, y: np.ndarray, epochs: int = 3, batch: int = 8, seed: int = 0) -> float:
    """A few epochs of Adam on (x, y) with the model's softmax head. A few dozen steps leave the
    BatchNormalization moving averages far from the statistics the layers trained with, so they are then
    set from one training-mode pass over up to 128 training samples. Returns the last epoch's training
    accuracy."""
    import keras

    keras.utils.set_random_seed(seed)
    model.compile(optimizer=keras.optimizers.Adam(5e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    hist = model.fit(x, y, epochs=epochs, batch_size=batch, verbose=0, shuffle=True)
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    saved = [layer.momentum for layer in norms]
    for layer in norms:
        layer.momentum = 0.0
    model(x[:128], training=True)
    for layer, momentum in zip(norms, saved):
        layer.momentum = momentum
    return float(hist.history["accuracy"][-1])
