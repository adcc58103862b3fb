#!/usr/bin/env bash
# One lent GPU session: train from the packed data (pack/, .whl/ carried), export, and
# copy the results to $OUT (best.onnx, last.onnx, best_model.pt, metrics.csv, train.log).
# Usage on the device: bash training/gpu_run.sh [CONFIG] [extra crnn-train args];
# MODEL_NAME=crnn-onnx-handwriting names the exported model (default: crnn-onnx-en).
set -uo pipefail
CONFIG=${1:-training/configs/gpu.yaml}; shift || true
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site:$PWD || exit 1
fi
export PYTHONPATH=${PYTHONPATH:-$PWD} PYTHONUNBUFFERED=1 NO_ALBUMENTATIONS_UPDATE=1
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu')"
RUN=/tmp/run
python3 -m training.train --config "$CONFIG" --out-dir $RUN "$@" 2>&1 | tr '\r' '\n' | grep -v '^train:' | tee "$OUT/train.log"
cp $RUN/metrics.csv $RUN/learning_curve.png "$OUT/" 2>/dev/null
python3 - <<'PY'
import os, torch
state = torch.load("/tmp/run/best.pt", map_location="cpu", weights_only=False)
state = {k: v for k, v in state.items() if k not in ("optimizer", "scaler")}  # model-only: fits the 16 MiB fetch limit
torch.save(state, os.path.join(os.environ.get("OUT", "/tmp/out"), "best_model.pt"))
PY
for which in best last; do  # best by validation, and the run's end: the dev gate may prefer either
  python3 -m training.export $RUN/$which.pt --out "$OUT/$which.onnx" ${MODEL_NAME:+--name "$MODEL_NAME"} 2>&1 \
    | grep -v Warning | tail -3
done
ls -la "$OUT"
