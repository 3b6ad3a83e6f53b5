"""Train the PyTorch example and export it to ONNX: a small CNN on scikit-learn's digits (fixed seeds, CPU,
~10 s). Needs torch (not a tinygen dependency): pip install torch.

Writes examples/digits_cnn_torch.onnx (TorchScript exporter, opset 17, dynamic batch). tinygen takes it as is:
    tinygen build examples/digits_cnn_torch.onnx -o out/digits_torch --calib examples/digits_calib_nchw.npy
(examples/digits_calib_nchw.npy: the 200 calibration samples of digits_calib.npy, in PyTorch's NCHW layout).
Run: .venv/bin/python examples/torch_digits.py
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402


def build_model():
    import torch
    from torch import nn

    class DigitsCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 16, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(16)
            self.pool1 = nn.MaxPool2d(2)
            self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
            self.dw3 = nn.Conv2d(32, 32, 3, padding=1, groups=32)
            self.drop = nn.Dropout(0.2)
            self.fc = nn.Linear(32 * 4 * 4, 10)

        def forward(self, x):
            x = self.pool1(torch.relu(self.bn1(self.conv1(x))))
            x = torch.relu(self.conv2(x))
            x = nn.functional.relu6(self.dw3(x))
            x = self.drop(torch.flatten(x, 1))  # NCHW flatten order: tinygen reorders fc's weights instead
            return torch.softmax(self.fc(x), dim=1)

    return DigitsCNN()


def main() -> None:
    import torch
    from digits_data import load_digits_split

    torch.manual_seed(0)
    x_tr, y_tr, x_te, y_te = load_digits_split()
    to_nchw = lambda a: torch.from_numpy(np.ascontiguousarray(a.transpose(0, 3, 1, 2)))  # noqa: E731
    xt, yt = to_nchw(x_tr), torch.from_numpy(y_tr)
    model = build_model()
    opt = torch.optim.Adam(model.parameters(), 3e-3)
    for epoch in range(40):
        model.train()
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), 32):
            idx = perm[i:i + 32]
            opt.zero_grad()
            loss = torch.nn.functional.nll_loss(torch.log(model(xt[idx]) + 1e-9), yt[idx])
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        acc = (model(to_nchw(x_te)).argmax(1).numpy() == y_te).mean()
    print(f"float test accuracy: {acc:.4f}")
    torch.onnx.export(model, to_nchw(x_tr[:1]), str(HERE / "digits_cnn_torch.onnx"), opset_version=17,
                      input_names=["input"], output_names=["output"], dynamo=False,
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    np.save(HERE / "digits_calib_nchw.npy", np.ascontiguousarray(x_tr[:200].transpose(0, 3, 1, 2)))


if __name__ == "__main__":
    main()
