"""Frames: photographs posted without a read, found and read by the recognizer, stored as reads."""
