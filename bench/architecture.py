"""Architecture comparison for training/README.md: parameters, MMAC per 32x128 crop,
training images/s on this CPU (1 and 2 torch threads), onnxruntime ms per crop (1 thread).

Run: ``python bench/architecture.py``. MACs are counted with forward hooks on Conv2d and
Linear plus T * 2 * 4 * h * (in + h) per bidirectional LSTM layer (the unit fvcore counts).
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from training.model import CRNN

CANDIDATES = {
    "default (conv 32, LSTM 256)": dict(width=32, hidden=256),
    "small (conv 24, LSTM 160)": dict(width=24, hidden=160),
    "wide (conv 64, LSTM 256)": dict(width=64, hidden=256),
}


def mmac(model: CRNN, width: int = 128) -> float:
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        if isinstance(module, torch.nn.Conv2d):
            total += output.numel() * module.in_channels * module.kernel_size[0] * module.kernel_size[1] // module.groups
        elif isinstance(module, torch.nn.Linear):
            total += output.numel() * module.in_features
    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    with torch.no_grad():
        out = model.eval()(torch.zeros(1, 1, 32, width))
    for h in handles:
        h.remove()
    steps, rnn = out.shape[1], model.rnn
    for layer in range(rnn.num_layers):
        inp = rnn.input_size if layer == 0 else 2 * rnn.hidden_size
        total += steps * 2 * 4 * rnn.hidden_size * (inp + rnn.hidden_size)
    return total / 1e6


def train_speed(model: CRNN, threads: int, batch: int = 32, steps: int = 6) -> float:
    torch.set_num_threads(threads)
    model = model.train().to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), 1e-3)
    ctc = torch.nn.CTCLoss(zero_infinity=True)
    x = torch.randn(batch, 1, 32, 128).contiguous(memory_format=torch.channels_last)
    targets = torch.randint(1, 96, (batch * 8,))
    times = []
    for step in range(steps + 2):
        start = time.perf_counter()
        loss = ctc(model(x).permute(1, 0, 2), targets, torch.full((batch,), 32), torch.full((batch,), 8))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step >= 2:
            times.append(time.perf_counter() - start)
    return batch / float(np.median(times))


def ort_ms(model: CRNN, width: int = 128, runs: int = 100) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.onnx"
        torch.onnx.export(model.eval(), (torch.zeros(1, 1, 32, width),), str(path), dynamo=False, opset_version=17,
                          input_names=["image"], output_names=["logprobs"],
                          dynamic_axes={"image": {0: "n", 3: "w"}, "logprobs": {0: "n", 1: "t"}})
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        x = np.zeros((1, 1, 32, width), np.float32)
        for _ in range(5):
            session.run(None, {"image": x})
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            session.run(None, {"image": x})
            times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def main() -> None:
    print("| model | params (M) | MMAC / 32x128 | train img/s, 1 thread | train img/s, 2 threads | ORT ms / 32x128 crop, 1 thread |")
    print("|---|---|---|---|---|---|")
    for name, kwargs in CANDIDATES.items():
        model = CRNN(96, **kwargs)
        params = sum(p.numel() for p in model.parameters()) / 1e6
        row = [f"{params:.2f}", f"{mmac(model):.0f}", f"{train_speed(model, 1):.0f}", f"{train_speed(model, 2):.0f}",
               f"{ort_ms(model):.2f}"]
        print(f"| {name} | " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
