"""Trainers of variants with several networks or stages (InfoGAN, LAPGAN/StackGAN, DiscoGAN, SRGAN):
subclasses of engine.trainers.staged.StagedTrainer or engine.paired.PairedTrainer."""
