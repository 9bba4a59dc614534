"""Exploring a trained generator: loading it for inference, z operations (slerp, paths, grids, truncation,
arithmetic), directions (GANSpace), nearest training images, and exports (PNG strips, GIFs, .npy)."""

from gandash.latent.explore import *  # noqa: F401,F403 - split into modules below; this is the front door
