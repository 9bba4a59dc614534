"""Datasets: the catalogue and its readers (IDX, CIFAR, image folders, points), the toy mixtures, photos,
degradations (blur, noise, JPEG) that make training pairs, and uploads. `data.info(name)` and
`data.load(name, ...)` are the front door."""

from gandash.data.catalogue import *  # noqa: F401,F403 - the catalogue's names are the package's API
