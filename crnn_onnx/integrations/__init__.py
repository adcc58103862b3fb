"""Adapters that put the recogniser after the detectors of other hosts (one module per host, DESIGN §6).

- :mod:`crnn_onnx.integrations.rapidocr`: RapidOCR 3's bundled detector + our recogniser (extra ``rapidocr``).
- :mod:`crnn_onnx.integrations.opencv`: ``cv2.dnn.TextDetectionModel_DB`` / ``_EAST`` output (extra ``opencv``).
- :mod:`crnn_onnx.integrations.doctr`: a drop-in ``reco_predictor`` for docTR and OnnxTR (extra ``onnxtr``).
- :mod:`crnn_onnx.integrations.docling`: the ``crnn_onnx`` docling OCR engine (extra ``docling``).

Each imports its host lazily and raises an ImportError naming the extra when it is missing.
"""
