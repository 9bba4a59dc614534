"""Generator and discriminator architectures. Every net takes its sizes as arguments and
does no I/O, so it can be imported and built at any size. Generators map (z, labels) to
images in [-1, 1] (or 2D points); discriminators map (x, labels) to one logit per row."""
