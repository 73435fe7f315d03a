"""Which numbers this CPU's torch kernels produce: a fingerprint to compare machines before comparing weights.

A training run governed by its steps is remade bit for bit only where the kernels compute the same bits:
MKL (matrix products, the GRU), oneDNN (convolutions) and ATen's own vector code pick their code by CPU,
so an Intel Xeon with AVX-512 and an AMD EPYC differ in the last bits, and 9,000 training steps grow that
into different weights (docs/recognizer-experiments.md). Run this on two machines (and under settings such
as `ATEN_CPU_CAPABILITY=avx2 DNNL_MAX_CPU_ISA=AVX2 MKL_CBWR=AVX2`): equal hashes are the precondition for
equal weights, not a proof of them.

Run: `python bench/cpu_kernels.py`
"""

from __future__ import annotations

import hashlib
import os

import torch


def fingerprint() -> dict[str, str]:
    """SHA-256 (12 hex) of a matrix product, a convolution and a bidirectional GRU on seeded inputs, one thread."""
    torch.manual_seed(0)
    torch.set_num_threads(1)
    a, b = torch.randn(257, 509), torch.randn(509, 131)
    x, w = torch.randn(8, 16, 32, 128), torch.randn(32, 16, 3, 3)
    gru, seq = torch.nn.GRU(64, 128, bidirectional=True), torch.randn(32, 8, 64)
    with torch.no_grad():
        outputs = {"matmul": a @ b, "conv2d": torch.nn.functional.conv2d(x, w, padding=1), "gru": gru(seq)[0]}
    return {name: hashlib.sha256(out.numpy().tobytes()).hexdigest()[:12] for name, out in outputs.items()}


def main() -> None:
    settings = ("ATEN_CPU_CAPABILITY", "DNNL_MAX_CPU_ISA", "ONEDNN_MAX_CPU_ISA", "MKL_CBWR")
    print(f"torch {torch.__version__}, ATen capability {torch.backends.cpu.get_cpu_capability()}")
    print("settings: " + (", ".join(f"{k}={os.environ[k]}" for k in settings if k in os.environ) or "none"))
    for name, digest in fingerprint().items():
        print(f"{name:>7}: {digest}")


if __name__ == "__main__":
    main()
