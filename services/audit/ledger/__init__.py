"""Tamper evidence of the access log: hash chain, Merkle tree, signed checkpoints, audit sampling."""
