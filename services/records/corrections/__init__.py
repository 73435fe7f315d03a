"""Corrections (G3): a misread is corrected by a new version of the read, linked to the one it replaces."""
