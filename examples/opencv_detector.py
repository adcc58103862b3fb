"""OpenCV's DNN text detector (DB or EAST) + crnn-onnx's recogniser.

    python examples/opencv_detector.py [IMAGE] --db DB_TD500_resnet50.onnx
    python examples/opencv_detector.py [IMAGE] --east frozen_east_text_detection.pb
    python examples/opencv_detector.py            # no weights: shows the hand-over with detect()'s exact format

The detector weights are the ones from OpenCV's text-spotting tutorial
(doc/tutorials/dnn/dnn_text_spotting); they are downloads, not part of any wheel.
"""
from __future__ import annotations

import argparse

import cv2
import numpy as np
from _sample import load

from crnn_onnx import Recogniser
from crnn_onnx.integrations.opencv import OpenCVTextSpotter, read_detections


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", nargs="?")
    parser.add_argument("--db", help="DB detector weights (.onnx)")
    parser.add_argument("--east", help="EAST detector weights (.pb)")
    args = parser.parse_args()
    image = load(args.image)
    recogniser = Recogniser(threads=1)
    if args.db:
        detector = cv2.dnn.TextDetectionModel_DB(args.db)
        detector.setBinaryThreshold(0.3).setPolygonThreshold(0.5).setMaxCandidates(200).setUnclipRatio(2.0)
        detector.setInputParams(1.0 / 255, (736, 736), (122.67891434, 116.66876762, 104.00698793), True)
        result = OpenCVTextSpotter(detector, recogniser)(image)
    elif args.east:
        detector = cv2.dnn.TextDetectionModel_EAST(args.east)
        detector.setConfidenceThreshold(0.5).setNMSThreshold(0.4)
        detector.setInputParams(1.0, (320, 320), (123.68, 116.78, 103.94), True)
        result = OpenCVTextSpotter(detector, recogniser)(image)
    else:
        # detect() returns ((int32 (4, 2) quads in [bl, tl, tr, br] order), float32 confidences); here two
        # quads of the sample page written that way stand in for it.
        quads = (np.array([[50, 115], [50, 55], [480, 55], [480, 115]], np.int32),
                 np.array([[50, 235], [50, 180], [470, 180], [470, 235]], np.int32))
        result = read_detections(image, (quads, np.array([0.9, 0.9], np.float32)), recogniser)
    for box, text, confidence in result:
        print(f"{confidence:.3f}  {text!r:32}  {box.round(1).tolist()}")


if __name__ == "__main__":
    main()
