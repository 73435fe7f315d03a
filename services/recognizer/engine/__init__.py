"""The plate-reading model: cropping, a small CRNN, CTC decoding and micro-batching on CPU."""

from services.recognizer.engine.crop import crop_plate
from services.recognizer.engine.reader import PlateReader, Reading
from services.recognizer.engine.weights import DEFAULT_WEIGHTS, WeightsInvalid

__all__ = ["DEFAULT_WEIGHTS", "PlateReader", "Reading", "WeightsInvalid", "crop_plate"]
