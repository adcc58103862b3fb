"""PyTorch training for crnn-onnx: model, synthetic and real data, training loop, ONNX export."""
