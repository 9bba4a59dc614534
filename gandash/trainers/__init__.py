"""Trainers of the variants whose step is not one G and one D on (z -> G -> D): InfoGAN, LAPGAN,
StackGAN, DiscoGAN and SRGAN. Each keeps trainer.Trainer's interface, so train(), the worker, jobs,
checkpoints and the step-by-step mode run them unchanged."""
