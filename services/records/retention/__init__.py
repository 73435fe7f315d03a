"""Retention (B1, B3, B5): the purge job that drops expired partitions and certifies it."""
