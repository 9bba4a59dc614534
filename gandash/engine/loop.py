"""The training loop: a Trainer stepped until its budget, a stop request or divergence; learning-rate
schedule, thread tuning, periodic evaluation, samples, checkpoints (metrics made durable first), exact
resume, and a run that explodes stopping itself.

`run(trainer, reporter, should_stop)` is the whole job. Which Trainer (and which nets) a config means
is the variants' business: variants.training.train(config, ...) builds it and calls this.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from gandash.core import device
from gandash.core.config import TrainConfig
from gandash.core.errors import GandashError, StorageError
from gandash.engine import checkpoints
from gandash.engine.reporter import Reporter
from gandash.engine.stepper import Stepper
from gandash.engine.trainer import Trainer
from gandash.quality import diagnose
from gandash.quality.evaluator import Evaluator


def budget_reached(config: TrainConfig, step: int, seconds: float) -> bool:
    total = config.total_steps
    return bool((total and step >= total) or (config.max_minutes and seconds >= config.max_minutes * 60))


def thread_tuner(config: TrainConfig, hw: device.DeviceSettings) -> device.ThreadTuner | None:
    """On the CPU: fixed threads when the config asks for them, else a tuner between one thread and
    the share this process was given (gandash.worker sets it). None elsewhere."""
    if hw.type != "cpu":
        return None
    if config.cpu_threads:
        torch.set_num_threads(config.cpu_threads)
        return None
    share = torch.get_num_threads()
    return device.ThreadTuner([1, share]) if share > 1 else None


def _evaluate(evaluator: Evaluator, trainer: Trainer, reporter: Reporter) -> dict[str, float]:
    try:
        return evaluator.run(trainer)
    except GandashError as exc:
        reporter.event("warning", f"quality metrics are off for the rest of this run: {exc}")
        return {}


def run(
    trainer: Trainer, reporter: Reporter, should_stop=lambda: False, initial_weights=lambda: None
) -> tuple[str, str]:
    """Train until the budget, a stop request or divergence; returns (status, message). A fresh run
    (no checkpoint yet) whose config names init_from starts G from `initial_weights()`."""
    threads = torch.get_num_threads()
    try:
        return _run(trainer, reporter, should_stop, initial_weights)
    finally:  # the thread tuner's choice is this run's; a longer-lived caller keeps its own setting
        torch.set_num_threads(threads)


def _checkpoint(trainer: Trainer, reporter: Reporter) -> None:
    """Save and report a checkpoint; a write that fails (a full disk) ends the run with what is kept.
    What was logged up to this step is made durable first: a kill between the two then only costs rows
    that the resume (from the older checkpoint) truncates and logs again, never rows that nobody logs."""
    reporter.before_checkpoint(trainer.step)
    try:
        path = trainer.save_checkpoint()
    except StorageError as exc:
        kept = checkpoints.listing(trainer.run_dir)
        kept_text = (
            f"the checkpoint of step {checkpoints.step_of(kept[0])} is kept, and resume continues from it"
            if kept
            else "no checkpoint of this run was written yet"
        )
        raise StorageError(f"{exc} The run stopped at step {trainer.step}; {kept_text}.", exc.errno) from None
    reporter.checkpoint(trainer.step, path)


def _run(trainer: Trainer, reporter: Reporter, should_stop, initial_weights) -> tuple[str, str]:
    config, run_dir = trainer.config, trainer.run_dir
    checkpoints.remove_leftovers(run_dir)
    state, warnings = checkpoints.latest(run_dir, map_location=trainer.hw.device)
    if state is None and warnings:  # checkpoints exist and none loads: never start over silently
        raise checkpoints.all_damaged(run_dir, run_dir.name, warnings)
    for warning in warnings:
        reporter.event("warning", warning)
    if state is not None:
        trainer.load_state(state)
        reporter.rewind(trainer.step)
        reporter.event("info", f"resumed from the checkpoint of step {trainer.step} on {trainer.hw.type}")
    else:
        reporter.rewind(0)
        if config.init_from:
            trainer.start_from(initial_weights())
            reporter.event("info", f"G starts from the weights of {config.init_from}")
        reporter.event("info", f"started on {trainer.hw.type} with {len(trainer.data)} training rows")
    saved_step = trainer.step
    window_start, window_steps = time.perf_counter(), 0
    images_per_step = config.batch_size * config.d_steps
    status, message = "completed", "budget reached"
    stepper = Stepper(trainer, reporter)
    tuner = thread_tuner(config, trainer.hw)
    evaluator = Evaluator(config) if type(trainer) is Trainer else Evaluator(config, samples=0)
    explosion = diagnose.ExplosionWatch()
    while not budget_reached(config, trainer.step, trainer.train_seconds):
        if should_stop():
            status, message = "stopped", f"stopped at step {trainer.step}"
            break
        if stepper.handle(reporter.commands()):
            window_start, window_steps = time.perf_counter(), 0  # paused time is not training time
            continue
        if tuner:
            torch.set_num_threads(tuner.threads())
        started = time.perf_counter()
        if config.lr_schedule != "constant":
            trainer.apply_lr_schedule()
        values = trainer.train_step(measure=(trainer.step + 1) % config.log_every == 0)
        if tuner:
            tuner.record(time.perf_counter() - started)
        window_steps += 1
        if values is not None:
            if not all(np.isfinite(v) for v in values.values()) or not trainer.is_finite():
                status = "diverged"
                message = (
                    f"the losses became NaN or infinite at step {trainer.step}; nothing after the "
                    f"checkpoint of step {saved_step} was kept. Try a lower learning rate (lr_d, lr_g), "
                    "fewer D steps, or the hinge or wgan-gp variants."
                )
                break
            now = time.perf_counter()
            values["images_per_sec"] = window_steps * images_per_step / max(now - window_start, 1e-9)
            window_start, window_steps = now, 0
            if evaluator.due(trainer.train_seconds + now - started, trainer):
                values.update(_evaluate(evaluator, trainer, reporter))
                # evaluation is neither training time nor part of the next throughput window
                spent = time.perf_counter() - now
                started += spent
                window_start += spent
            reporter.metrics(trainer.step, values)  # one call, so quality rows share the step's batch
            exploded = explosion.add(trainer.step, values)
            if exploded is not None:
                status = "diverged"
                message = (
                    f"{exploded.title} ({exploded.evidence}), so the run stopped itself at step "
                    f"{trainer.step}; nothing after the checkpoint of step {saved_step} was kept. "
                    f"{exploded.advice}"
                )
                break
        if trainer.step % config.sample_every == 0:
            reporter.sample(trainer.step, trainer.save_samples())
        if values:
            trainer.note_quality(values)  # a best-so-far evaluation marks the next checkpoint as the best
        if trainer.step % config.checkpoint_every == 0 and trainer.is_finite():  # never checkpoint NaNs
            _checkpoint(trainer, reporter)
            saved_step = trainer.step
        trainer.train_seconds += time.perf_counter() - started
    if status != "diverged" and trainer.step > saved_step and trainer.is_finite():
        if trainer.step % config.sample_every:
            reporter.sample(trainer.step, trainer.save_samples())
        _checkpoint(trainer, reporter)
    reporter.event("error" if status == "diverged" else "info", message)
    return status, message
