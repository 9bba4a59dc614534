"""Step-by-step mode: the training loop paused, advanced one line of Algorithm 1 at a time."""

from __future__ import annotations

import time

from gandash.engine.reporter import Reporter
from gandash.engine.trainer import Trainer


class Stepper:
    """Step-by-step mode (GAN Lab's, for any GAN): while paused, run one D step or one G step of
    Algorithm 1 per command, logging D(x), D(G(z)) and a sample after each."""

    def __init__(self, trainer: Trainer, reporter: Reporter):
        self.trainer, self.reporter = trainer, reporter
        self.paused, self.d_done, self.last = False, 0, ""

    def handle(self, commands: list[str]) -> bool:
        """Apply the commands; True while paused (the caller then waits instead of training)."""
        for command in commands:
            if command == "pause":
                self.paused = True
            elif command == "continue":
                self.paused, self.d_done = False, 0
            elif command in ("step", "step-d", "step-g") and self.paused:
                self._one(command)
            self.reporter.phase(
                {
                    "paused": self.paused,
                    "d_done": self.d_done,
                    "k": self.trainer.config.d_steps,
                    "last": self.last,
                    "step": self.trainer.step,
                }
            )
        if self.paused:
            time.sleep(0.05)
        return self.paused

    def _one(self, command: str) -> None:
        if command == "step":  # the next line of Algorithm 1: k D steps, then a G step
            command = "step-d" if self.d_done < self.trainer.config.d_steps else "step-g"
        if command == "step-d":
            values = self.trainer.single_d_step()
            self.d_done += 1
        else:
            values = self.trainer.single_g_step()
            self.d_done = 0
        self.last = command
        self.reporter.metrics(self.trainer.step, values)
        self.reporter.sample(self.trainer.step, self.trainer.save_samples())
