"""Training: losses (small pure functions), checkpoints, the Trainer (one step of Algorithm 1), the loop,
step-by-step control, and the trainers of variants whose step is not Algorithm 1 (paired, staged).
It is given a variant's nets; it never looks variants up."""
