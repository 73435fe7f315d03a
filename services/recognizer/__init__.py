"""The recognizer service: finds plates in photographs and reads them (torch, CPU).

OpenMP's default wait policy spins a thread that waits for work; with two torch threads on a machine whose
other core is busy (another service, a neighbour pod) the spinning thread and the worker take turns and a
batch runs about twenty times slower (measured: 1.6 against 36.6 frames/s, detection and reading). Passive
waiting has its own cost: each parallel region wakes the sleeping thread, so two passive threads read plates
slower than one (`settings.torch_threads`, one by default). The policy matters where an operator sets two. It
must be set before torch loads OpenMP, which is why it lives in the package's first import; an operator's own
setting wins.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
