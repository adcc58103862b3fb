"""The training loop end to end on a tiny config: train, resume, export, parity, warm start."""
from __future__ import annotations

import csv
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training tests need the 'train' extra")
import onnxruntime as ort  # noqa: E402
from crnn_onnx import Recogniser, preprocess  # noqa: E402
from crnn_onnx.charset import PRINTABLE_ASCII  # noqa: E402
from crnn_onnx.model_format import INPUT_NAME, OUTPUT_NAME  # noqa: E402
from crnn_onnx.preprocess import Margins  # noqa: E402
from training import export  # noqa: E402
from training.checkpoint import build_model, load_model, recalibrate_batchnorm, state_from_onnx  # noqa: E402
from training.config import TrainConfig  # noqa: E402
from training.datasets import synthetic_validation, validation_batches  # noqa: E402
from training.fonts import find_fonts  # noqa: E402
from training.model import CRNN  # noqa: E402
from training.train import case_pairs, config_from_args, lr_factor, merge_case, set_train_mode, train  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CHARSET = "".join(PRINTABLE_ASCII)


@pytest.mark.parametrize("width", [1, 5, 8, 37, 128, 131])
def test_frames_follow_the_stride_rule(width):
    model = CRNN(10, width=4, hidden=8).eval()
    assert model(torch.zeros(2, 1, 32, width)).shape == (2, math.ceil(width / 4), 10)


def test_merge_case_only_touches_caseless_rows_and_upper_classes():
    upper, lower = case_pairs(CHARSET)
    assert len(upper) == 26
    logprobs = torch.log_softmax(torch.randn(6, 3, len(CHARSET) + 1), -1)
    merged = merge_case(logprobs, torch.tensor([False, True, False]), upper, lower)
    a, a_lower = CHARSET.index("A") + 1, CHARSET.index("a") + 1
    assert torch.equal(merged[:, [0, 2]], logprobs[:, [0, 2]])
    assert torch.allclose(merged[:, 1, a], torch.logaddexp(logprobs[:, 1, a], logprobs[:, 1, a_lower]))
    assert torch.equal(merged[:, 1, a_lower], logprobs[:, 1, a_lower])


def test_frozen_batchnorm_keeps_statistics_while_training():
    model = CRNN(10, width=4, hidden=8)
    set_train_mode(model, freeze_batchnorm=True)
    before = model.features[1].running_mean.clone()
    model(torch.randn(4, 1, 32, 40) + 3.0)
    assert model.rnn.training and not model.features[1].training
    assert torch.equal(model.features[1].running_mean, before)
    set_train_mode(model, freeze_batchnorm=False)
    model(torch.randn(4, 1, 32, 40) + 3.0)
    assert not torch.equal(model.features[1].running_mean, before)


def test_lr_schedule_warms_up_then_decays_by_steps_or_time():
    config = TrainConfig(steps=1000, warmup_steps=100, time_limit_minutes=10)
    assert lr_factor(config, 0, 0) == pytest.approx(0.01)
    assert lr_factor(config, 100, 0) == pytest.approx(1.0)
    assert lr_factor(config, 1000, 0) == pytest.approx(0.05)
    assert lr_factor(config, 100, 600) == pytest.approx(0.05)  # time limit reached first


def test_command_line_options_override_the_yaml_and_the_rest_keep_it():
    yaml_config = TrainConfig.from_yaml(REPO / "training/configs/gpu_case.yaml")
    config = config_from_args(["--config", str(REPO / "training/configs/gpu_case.yaml"), "--lr", "1.5e-4",
                               "--time-limit-minutes", "7", "--batch-size", "384"])
    given = {"lr": 1.5e-4, "time_limit_minutes": 7.0, "batch_size": 384}
    assert all(getattr(config, k) == v != getattr(yaml_config, k) for k, v in given.items())
    assert config.to_dict() | {k: getattr(yaml_config, k) for k in given} == yaml_config.to_dict()


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    if not find_fonts():
        pytest.skip("no usable fonts installed (see training/debian-fonts.txt)")
    out = tmp_path_factory.mktemp("tiny")
    config = TrainConfig.from_yaml(REPO / "training/configs/tiny.yaml", out_dir=str(out), steps=120)
    best = train(config)
    return config, out, best


def _rendered_ctc_loss(model: CRNN, config: TrainConfig) -> float:
    """Mean CTC loss of ``model`` (eval mode) on 32 fixed rendered crops of ``config``'s renderer."""
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    index = {c: i + 1 for i, c in enumerate(config.charset)}
    losses = []
    with torch.no_grad():
        for pixels, lengths, texts in validation_batches(synthetic_validation(config, 32), config):
            targets = torch.tensor([index[c] for text in texts for c in text])
            logprobs = model.eval()(pixels).permute(1, 0, 2)
            losses.append(ctc(logprobs, targets, lengths, torch.tensor([len(t) for t in texts])).item())
    return float(np.mean(losses))


def test_tiny_training_writes_checkpoints_metrics_and_curve(tiny_run):
    config, out, best = tiny_run
    assert best.is_file() and (out / "last.pt").is_file() and (out / "learning_curve.png").is_file()
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert [int(r["step"]) for r in rows] == [100, 120]
    assert all(float(r["data_wait_seconds"]) >= 0 for r in rows)  # time spent waiting for rendered batches
    state = torch.load(out / "last.pt", weights_only=False)
    assert state["step"] == 120 and state["charset"] == list(CHARSET) and state["config"]["steps"] == 120


def test_tiny_training_lowers_the_loss_on_rendered_crops(tiny_run):
    config, out, _ = tiny_run
    torch.manual_seed(config.seed)  # the weights train() started from
    untrained = _rendered_ctc_loss(build_model(config), config)
    trained = _rendered_ctc_loss(load_model(out / "last.pt")[0], config)
    assert trained < 0.8 * untrained, (untrained, trained)


def test_rerun_resumes_from_last_checkpoint(tiny_run, tmp_path):
    _, run, _ = tiny_run
    out = tmp_path / "run"  # a copy: the module's other tests keep the 120-step run
    shutil.copytree(run, out)
    resumed = TrainConfig.from_yaml(REPO / "training/configs/tiny.yaml", out_dir=str(out), steps=130)
    train(resumed)
    state = torch.load(out / "last.pt", weights_only=False)
    assert state["step"] == 130 and state["images_seen"] == 130 * resumed.batch_size
    steps = [int(r["step"]) for r in csv.DictReader((out / "metrics.csv").open())]
    assert steps == [100, 120, 130]  # continued, not restarted


def test_resume_rescores_best_checkpoint_on_this_runs_validation(tiny_run, tmp_path):
    _, out, _ = tiny_run
    copy = tmp_path / "run"
    shutil.copytree(out, copy)
    state = torch.load(copy / "last.pt", weights_only=False)
    state["best"] = 2.0  # a score no checkpoint can reach: kept, nothing later would ever count as better
    torch.save(state, copy / "last.pt")
    train(TrainConfig.from_yaml(REPO / "training/configs/tiny.yaml", out_dir=str(copy), steps=state["step"] + 10))
    assert torch.load(copy / "last.pt", weights_only=False)["best"] <= 1.0


def test_export_parity_and_runtime_load(tiny_run, tmp_path):
    config, out, best = tiny_run
    onnx_path = tmp_path / "tiny.onnx"
    export.main([str(best), "--out", str(onnx_path), "--name", "tiny", "--version", "0", "--int8"])
    model, config, charset, _ = load_model(best)
    result = export.check_parity(model, onnx_path, config.input_spec())
    assert result["max_abs_diff"] <= export.PARITY_ATOL
    recogniser = Recogniser(str(onnx_path), threads=1)
    assert recogniser.spec.charset == tuple(CHARSET) and recogniser.spec.name == "tiny"
    int8_path = onnx_path.with_suffix(".int8.onnx")
    assert Recogniser(str(int8_path), threads=1).spec.charset == recogniser.spec.charset
    assert int8_path.stat().st_size < onnx_path.stat().st_size
    # the int8 model's per-frame posteriors stay near fp32's on rendered crops (measured: within 0.03)
    spec = recogniser.spec.input_spec
    pixels, _ = preprocess.batch([preprocess.prepare(item.load(), spec) for item in synthetic_validation(config, 8)],
                                 spec)
    fp32, int8 = (np.exp(ort.InferenceSession(str(path)).run([OUTPUT_NAME], {INPUT_NAME: pixels})[0])
                  for path in (onnx_path, int8_path))
    assert np.abs(fp32 - int8).max() < 0.1 and (fp32.argmax(-1) == int8.argmax(-1)).mean() > 0.95


def test_export_margins_are_stamped_kept_on_re_export_and_dropped(tiny_run, tmp_path):
    _, _, best = tiny_run
    with_margins, kept, dropped = tmp_path / "m.onnx", tmp_path / "kept.onnx", tmp_path / "dropped.onnx"
    export.main([str(best), "--out", str(with_margins), "--margins", "0.3,0.1"])
    assert Recogniser(str(with_margins)).margins == Margins(side=0.3, top_bottom=0.1)
    export.main([str(with_margins), "--out", str(kept)])
    assert Recogniser(str(kept)).spec.input_spec.margins == Margins(side=0.3, top_bottom=0.1)
    export.main([str(with_margins), "--out", str(dropped), "--margins", "none"])
    assert Recogniser(str(dropped)).margins is None
    for bad in ("0.3", "nan,0.1", "-0.1,0.1", "150,0"):
        with pytest.raises(SystemExit):
            export.main([str(best), "--out", str(tmp_path / "x.onnx"), "--margins", bad])


def test_warm_start_from_onnx_reproduces_the_network(tiny_run, tmp_path):
    _, _, best = tiny_run
    model, config, charset, _ = load_model(best)
    onnx_path = export.export_onnx(model, config.input_spec(), charset, tmp_path / "m.onnx")
    rebuilt = build_model(config)
    rebuilt.load_state_dict(state_from_onnx(onnx_path, rebuilt))
    x = torch.randn(3, 1, 32, 72)
    with torch.no_grad():
        assert torch.allclose(rebuilt.eval()(x), model(x), atol=1e-4)
    recalibrate_batchnorm(rebuilt, [x])
    with torch.no_grad():
        assert torch.allclose(rebuilt.eval()(x), model(x), atol=1e-4)
        rebuilt.train()
        rebuilt.rnn.dropout = 0.0
        assert torch.allclose(rebuilt(x), model(x), atol=1e-3)  # batch statistics now match


def test_frozen_features_train_only_the_lstm_and_head(tmp_path):
    config = TrainConfig.from_yaml(REPO / "training/configs/tiny.yaml", out_dir=str(tmp_path), steps=6,
                                   freeze_features=True)
    torch.manual_seed(config.seed)
    start = build_model(config).state_dict()  # train() draws the same initial weights from the same seed
    train(config)
    end = torch.load(tmp_path / "last.pt", weights_only=False)["model"]
    features = [k for k in start if k.startswith("features.")]
    assert features and all(torch.equal(start[k], end[k]) for k in features)  # BatchNorm statistics too
    assert not torch.equal(start["head.weight"], end["head.weight"])
    assert any(not torch.equal(start[k], end[k]) for k in start if k.startswith("rnn."))
