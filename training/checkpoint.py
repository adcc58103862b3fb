"""Checkpoints: atomic save, resume, and warm start from a checkpoint or an exported ONNX.

A checkpoint is a dict with ``model``, ``optimizer``, ``scheduler``, ``scaler``
state, ``step``, ``images_seen``, ``config`` (the whole TrainConfig) and
``charset``. Files are written to ``<path>.tmp`` and renamed, so a kill never
leaves a half-written checkpoint.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from .config import TrainConfig
from .model import CRNN


def build_model(config: TrainConfig) -> CRNN:
    return CRNN(len(config.charset) + 1, input_height=config.input_height,
                width=config.conv_width, hidden=config.lstm_hidden)


def save_atomic(state: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_model(path: Path) -> tuple[CRNN, TrainConfig, tuple[str, ...], dict]:
    """(model in eval mode, config, charset, training summary) from a .pt checkpoint."""
    state = torch.load(path, map_location="cpu", weights_only=False)
    config = TrainConfig(**state["config"])
    model = build_model(config)
    model.load_state_dict(state["model"])
    summary = {"steps": state["step"], "images_seen": state["images_seen"],
               "real_sets": [Path(s).name for s in config.real_sets], "real_ratio": config.real_ratio,
               "line_ratio": config.line_ratio, "date": state.get("date", "")}
    summary.update(state.get("summary", {}))
    return model.eval(), config, tuple(state["charset"]), summary


def _lstm_from_onnx(w: np.ndarray, r: np.ndarray, b: np.ndarray, hidden: int) -> list[np.ndarray]:
    """ONNX LSTM gate order (i, o, f, c) to torch's (i, f, g, o), per direction."""
    def reorder(m: np.ndarray) -> np.ndarray:
        i, o, f, c = np.split(m, 4, axis=0)
        return np.concatenate([i, f, c, o], axis=0)
    out = []
    for d in range(w.shape[0]):
        out += [reorder(w[d]), reorder(r[d]), reorder(b[d, :4 * hidden]), reorder(b[d, 4 * hidden:])]
    return out


def state_from_onnx(path: Path, model: CRNN) -> dict[str, torch.Tensor]:
    """A state dict for ``model`` rebuilt from a native ONNX export of the same architecture.

    The exporter folds each BatchNorm into its convolution, so every conv gets the
    folded weight and its BatchNorm becomes (mean 0, var 1 - eps, gamma 1, beta = folded
    bias): identical in eval mode. Call :func:`recalibrate_batchnorm` before training on
    to make train-mode statistics match.
    """
    import onnx
    from onnx import numpy_helper

    proto = onnx.load(str(path))
    inits = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
    convs = [n for n in proto.graph.node if n.op_type == "Conv"]
    lstms = [n for n in proto.graph.node if n.op_type == "LSTM"]
    gemm = [n for n in proto.graph.node if n.op_type in ("MatMul", "Gemm")]
    state = {k: v.clone() for k, v in model.state_dict().items()}
    conv_modules = [(name, m) for name, m in model.features.named_children() if isinstance(m, torch.nn.Conv2d)]
    if len(convs) != len(conv_modules) or len(lstms) != model.rnn.num_layers:
        raise ValueError(f"{path}: layer counts do not match this architecture")
    for (index, conv), node in zip(conv_modules, convs):
        weight = inits[node.input[1]]
        bias = inits[node.input[2]] if len(node.input) > 2 else np.zeros(weight.shape[0], np.float32)
        bn = str(int(index) + 1)
        eps = model.features[int(index) + 1].eps
        state[f"features.{index}.weight"] = torch.from_numpy(weight.copy())
        state[f"features.{bn}.weight"] = torch.ones(weight.shape[0])
        state[f"features.{bn}.bias"] = torch.from_numpy(bias.copy())
        state[f"features.{bn}.running_mean"] = torch.zeros(weight.shape[0])
        state[f"features.{bn}.running_var"] = torch.full((weight.shape[0],), 1.0 - eps)
    hidden = model.rnn.hidden_size
    for layer, node in enumerate(lstms):
        parts = _lstm_from_onnx(inits[node.input[1]], inits[node.input[2]], inits[node.input[3]], hidden)
        for d, suffix in enumerate(["", "_reverse"]):
            w_ih, w_hh, b_ih, b_hh = parts[4 * d: 4 * d + 4]
            for name, value in zip(["weight_ih", "weight_hh", "bias_ih", "bias_hh"], [w_ih, w_hh, b_ih, b_hh]):
                state[f"rnn.{name}_l{layer}{suffix}"] = torch.from_numpy(value.copy())
    head = gemm[-1]
    weight = inits[head.input[1]]
    state["head.weight"] = torch.from_numpy((weight.T if head.op_type == "MatMul" else weight).copy())
    add = [n for n in proto.graph.node if n.op_type == "Add" and any(i in inits for i in n.input)]
    bias_name = head.input[2] if head.op_type == "Gemm" else next(i for i in add[-1].input if i in inits)
    state["head.bias"] = torch.from_numpy(inits[bias_name].copy())
    return state


@torch.no_grad()
def recalibrate_batchnorm(model: CRNN, batches: list[torch.Tensor]) -> None:
    """Set each BatchNorm's affine and running statistics so train mode reproduces eval mode.

    For BN(y) = gamma * (y - mu_batch) / sigma_batch + beta to equal y + beta0, set
    gamma = sigma and beta = mu + beta0, with sigma, mu measured on ``batches``.
    """
    model.eval()
    for module in model.features:
        if not isinstance(module, torch.nn.BatchNorm2d):
            continue
        captured = []
        handle = module.register_forward_hook(lambda m, inp, out: captured.append(inp[0]))
        for x in batches:
            model.features(x)
        handle.remove()
        y = torch.cat([c.permute(1, 0, 2, 3).flatten(1) for c in captured], dim=1)
        mu, var = y.mean(1), y.var(1, unbiased=False)  # train-mode BN normalises by the biased variance
        beta0 = module.bias.clone()
        module.weight.copy_(torch.sqrt(var + module.eps))
        module.bias.copy_(mu + beta0)
        module.running_mean.copy_(mu)
        module.running_var.copy_(var)


def read_onnx_charset(path: Path) -> tuple[str, ...]:
    import onnx
    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    return tuple(json.loads(meta["charset"]))
