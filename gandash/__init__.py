"""gandash: learn, train and play with Generative Adversarial Networks."""

import os

# Before torch starts OpenMP: threads that wait at a barrier sleep instead of spinning. With spinning
# (the default), one other busy process on a 2-core machine -- a second job, the browser, the app
# itself -- made DCGAN training 6x slower (0.85 vs 4.7 steps/s measured); passive waiting costs
# almost nothing when the machine is idle. A value the user set is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from gandash.core.errors import GandashError  # noqa: E402

__all__ = ["GandashError"]
__version__ = "0.1.0"
