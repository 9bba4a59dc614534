"""Restoring photos of any size: deblurring (the blur-kernel estimator, the U-Net, self-ensemble poses),
x4 upscaling, tiling, photo reading and writing, and the classical baselines."""
