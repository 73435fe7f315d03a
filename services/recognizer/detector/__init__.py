"""The plate detector: finds every plate in a camera frame, so a photograph without a vendor's box can be read."""

from services.recognizer.detector.detect import Detection, PlateDetector

__all__ = ["Detection", "PlateDetector"]
