"""``crnn-train``: train the CRNN on mixed synthetic and real crops, resumably.

The same script runs on the 2-core CPU (1 torch thread, 1 render worker, in the
background) and on one CUDA GPU (bf16 autocast, many render workers). State is
saved atomically to ``<out_dir>/last.pt`` every ``checkpoint_minutes`` and at the
end; rerunning the same command resumes from it with nothing lost but the
batches in flight. ``init_from`` warm-starts a new run from a checkpoint or an
exported native ONNX model. Validation (CER, word accuracy) runs every
``val_every`` steps on the held-out slice of the real sets plus synthetic crops,
appending to ``metrics.csv`` and redrawing ``learning_curve.png``; the best
validation model is kept in ``best.pt`` (re-scored when a run resumes, since the
synthetic validation crops are re-drawn if the renderer changed).
"""
from __future__ import annotations

import argparse
import csv
import logging
import math
import time
from pathlib import Path

import numpy as np
import torch
import yaml
from torch.utils.data import DataLoader
from tqdm import tqdm

from crnn_onnx.decode import greedy
from crnn_onnx.metrics import score

from .checkpoint import build_model, recalibrate_batchnorm, save_atomic, state_from_onnx
from .config import TrainConfig
from .datasets import MixedBatches, real_split, validation_batches, validation_sets

log = logging.getLogger("crnn-train")
#: steps between progress-bar loss updates: each reads the loss back from the device (a sync)
POSTFIX_EVERY = 50


def lr_factor(config: TrainConfig, step: int, train_seconds: float) -> float:
    """Linear warm-up, then cosine decay to 5% of the peak.

    Progress is the larger of ``step / steps`` and, with a time limit, the share of
    the time used, so a run cut by its time limit still ends at the low rate.
    """
    if step < config.warmup_steps:
        return (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    if config.time_limit_minutes:
        progress = max(progress, train_seconds / (60 * config.time_limit_minutes))
    return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


@torch.no_grad()
def case_pairs(charset: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Class indices of (upper, lower) letter pairs present in ``charset``."""
    pairs = [(charset.index(c) + 1, charset.index(c.lower()) + 1) for c in charset if c.isupper() and c.lower() in charset]
    return torch.tensor([p[0] for p in pairs]), torch.tensor([p[1] for p in pairs])


def merge_case(logprobs: torch.Tensor, caseless: torch.Tensor, upper: torch.Tensor, lower: torch.Tensor) -> torch.Tensor:
    """For rows whose label is upper-cased whatever the image shows, let the upper-case class
    stand for both cases: its log-prob becomes logaddexp(upper, lower). CTC reads only the
    blank and the target classes, so the targets (upper case) then score either case.

    ``logprobs`` is (T, N, K); ``caseless`` (N,) bool, on the same device. Computed for every
    row and selected with ``where``, so nothing is read back to the host (no sync).
    """
    upper_logprobs = logprobs[:, :, upper]
    merged = torch.logaddexp(upper_logprobs, logprobs[:, :, lower])
    return logprobs.index_copy(2, upper, torch.where(caseless[None, :, None], merged, upper_logprobs))


def set_train_mode(model: torch.nn.Module, freeze_batchnorm: bool, freeze_features: bool = False) -> None:
    """Train mode; with ``freeze_batchnorm`` the BatchNorm layers stay in eval mode (fixed statistics), with
    ``freeze_features`` the whole conv stack (``model.features``) does."""
    model.train()
    if freeze_features:
        model.features.eval()
    if freeze_batchnorm:
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.eval()


@torch.no_grad()
def evaluate(model, batches, charset: str, device) -> dict:
    """Greedy-decode the validation batches (leaves the model in eval mode); the DESIGN §8 scores."""
    model.eval()
    predictions, truths = [], []
    for pixels, lengths, texts in batches:
        logprobs = model(pixels.to(device)).float().cpu().numpy()
        for decoded in greedy(logprobs, lengths.numpy()):
            predictions.append("".join(charset[i - 1] for i in decoded.labels))
        truths += texts
    return score(predictions, truths)


def append_metrics(csv_path: Path, row: dict) -> None:
    """Append ``row`` to the CSV; a column that earlier rows lack (a resumed run of newer code) widens the header."""
    rows = list(csv.DictReader(csv_path.open(newline=""))) if csv_path.is_file() else []
    fields = list(dict.fromkeys([*(rows[0] if rows else {}), *row]))
    with csv_path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, restval="")
        writer.writeheader()
        writer.writerows([*rows, row])


def plot_curve(csv_path: Path, png_path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = list(csv.DictReader(csv_path.open()))
    if not rows:
        return
    steps = [int(r["step"]) for r in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(steps, [float(r["train_loss"]) for r in rows])
    ax1.set(xlabel="step", ylabel="CTC loss (train)", yscale="log")
    for key in [k for k in rows[0] if k.endswith("word_accuracy")]:
        ax2.plot(steps, [float(r[key]) for r in rows], label=key.replace("_word_accuracy", ""))
    ax2.set(xlabel="step", ylabel="word accuracy (val)", ylim=(0, 1))
    ax2.legend()
    fig.tight_layout()
    fig.savefig(png_path, dpi=80)
    plt.close(fig)


def warm_start(model, source: Path, config: TrainConfig, calibration: list[torch.Tensor]) -> None:
    if source.suffix == ".onnx":
        model.load_state_dict(state_from_onnx(source, model))
        recalibrate_batchnorm(model, calibration)
    else:
        model.load_state_dict(torch.load(source, map_location="cpu", weights_only=False)["model"])
    log.info("warm start from %s", source)


def validation_score(model, val_batches: dict, charset: str, device) -> tuple[dict, float]:
    """(per-set results, mean word accuracy over the sets): the score that chooses ``best.pt``."""
    results = {name: evaluate(model, batches, charset, device) for name, batches in val_batches.items()}
    return results, float(np.mean([r.word_accuracy for r in results.values()]))


def train(config: TrainConfig) -> Path:
    """Run (or resume) training; returns the path of the best checkpoint."""
    out = Path(config.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(yaml.safe_dump(config.to_dict()))
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cpu":
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)

    real_train, real_val = real_split(config)
    val_batches = {name: validation_batches(items, config)
                   for name, items in validation_sets(config, real_val).items() if items}

    charset = config.charset
    model = build_model(config).to(device)
    model.features.requires_grad_(not config.freeze_features)  # frozen: no backward through the conv stack
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.lr,
                                  weight_decay=config.weight_decay)
    step, images_seen, best, train_seconds = 0, 0, -1.0, 0.0
    last = out / "last.pt"
    if last.is_file():
        state = torch.load(last, map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, images_seen, best = state["step"], state["images_seen"], state.get("best", -1.0)
        train_seconds = state.get("train_seconds", 0.0)
        log.info("resumed from %s at step %d", last, step)
        if (out / "best.pt").is_file():  # the synthetic crops are re-drawn if the renderer changed: re-score
            scorer = build_model(config).to(device)
            scorer.load_state_dict(torch.load(out / "best.pt", map_location="cpu", weights_only=False)["model"])
            best = validation_score(scorer, val_batches, charset, device)[1]
            log.info("best.pt re-scored on this run's validation crops: %.4f", best)
    elif config.init_from:
        calibration = [b[0] for b in next(iter(val_batches.values()))[:4]]
        warm_start(model.cpu(), Path(config.init_from), config, calibration)
        model.to(device)
    if device.type == "cpu":
        model = model.to(memory_format=torch.channels_last)

    stream = MixedBatches(config, real_train, seed=config.seed * 1000 + step)
    loader = DataLoader(stream, batch_size=None, num_workers=config.workers,
                        pin_memory=device.type == "cuda", persistent_workers=config.workers > 0,
                        prefetch_factor=4 if config.workers > 0 else None)
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    use_amp = config.amp and device.type == "cuda"
    upper, lower = (idx.to(device) for idx in case_pairs(charset))

    def checkpoint(path: Path) -> None:
        save_atomic({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                     "train_seconds": train_seconds, "step": step, "images_seen": images_seen,
                     "best": best, "config": config.to_dict(), "charset": list(charset),
                     "date": time.strftime("%Y-%m-%d")}, path)

    metrics_path = out / "metrics.csv"
    last_save = tick = time.time()
    waited = 0.0  #: seconds spent waiting for the loader since the last validation (render-bound when large)
    running = None
    set_train_mode(model, config.freeze_batchnorm, config.freeze_features)
    progress = tqdm(total=config.steps, initial=step, desc="train", mininterval=10, dynamic_ncols=True)
    for batch in loader:
        waited += time.time() - tick
        if step >= config.steps:
            break
        # every copy is asynchronous and the loss stays on the device between log lines, so the
        # host queues the next step while the GPU runs this one (a blocking copy or .item() per
        # step would make the GPU wait for the host's kernel launches)
        pixels, caseless, targets, input_lengths, target_lengths = (
            batch[key].to(device, non_blocking=True)
            for key in ("image", "caseless", "targets", "input_lengths", "target_lengths"))
        if device.type == "cpu":
            pixels = pixels.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
            logprobs = model(pixels)
        logprobs = merge_case(logprobs.float().permute(1, 0, 2), caseless, upper, lower)
        loss = ctc(logprobs, targets, input_lengths, target_lengths)
        lr = config.lr * lr_factor(config, step, train_seconds)
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        step += 1
        images_seen += len(batch["texts"])
        running = loss.detach().clone() if running is None else running.mul_(0.98).add_(loss.detach(), alpha=0.02)
        progress.update(1)
        if step % POSTFIX_EVERY == 0:
            progress.set_postfix(loss=f"{running.item():.3f}", lr=f"{lr:.2e}")
        now = time.time()
        train_seconds += now - tick
        tick = now
        done = step >= config.steps or bool(config.time_limit_minutes and train_seconds >= 60 * config.time_limit_minutes)
        if step % config.val_every == 0 or done:
            val_started = time.time()
            results, current = validation_score(model, val_batches, charset, device)
            row = {"step": step, "images_seen": images_seen, "minutes": round(train_seconds / 60, 2),
                   "train_loss": round(running.item(), 4), "lr": lr, "data_wait_seconds": round(waited, 1)}
            waited = 0.0
            for name, r in results.items():
                row[f"{name}_word_accuracy"] = round(r.word_accuracy, 4)
                row[f"{name}_cer"] = round(r.cer, 4)
            append_metrics(metrics_path, row)
            plot_curve(metrics_path, out / "learning_curve.png")
            log.info("step %d: %s", step, {k: v for k, v in row.items() if k != "lr"})
            if current > best:
                best = current
                checkpoint(out / "best.pt")
            set_train_mode(model, config.freeze_batchnorm, config.freeze_features)
            tick += time.time() - val_started  # validation time does not count as training time
        if done or time.time() - last_save > config.checkpoint_minutes * 60:
            checkpoint(last)
            last_save = time.time()
        if done:
            break
    progress.close()
    return out / "best.pt"


def config_from_args(argv: list[str] | None = None) -> TrainConfig:
    """The run's config: the ``--config`` YAML with any options given on the command line over it."""
    parser = argparse.ArgumentParser(prog="crnn-train", description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True, help="YAML file of TrainConfig fields")
    parser.add_argument("--out-dir")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--workers", type=int)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--init-from")
    parser.add_argument("--time-limit-minutes", type=float)
    parser.add_argument("--lr", type=float, help="peak learning rate (a gentler warm restart: lower)")
    parser.add_argument("--batch-size", type=int, help="crops per step")
    parser.add_argument("--real-sets", nargs="*")
    args = parser.parse_args(argv)
    overrides = {k: v for k, v in vars(args).items() if k != "config"}
    return TrainConfig.from_yaml(args.config, **overrides)


def main(argv: list[str] | None = None) -> None:
    config = config_from_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    best = train(config)
    print(f"best checkpoint: {best}")


if __name__ == "__main__":
    main()
