"""gandash: learn, train and play with Generative Adversarial Networks."""

from gandash.errors import GandashError

__all__ = ["GandashError"]
__version__ = "0.1.0"
