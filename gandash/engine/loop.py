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


def speed_tuner(config: TrainConfig, hw: device.DeviceSettings) -> device.SpeedTuner | None:
    """On the CPU: a tuner over what the config leaves open, the threads (one, or the share this process
    was given: runs.worker sets it) and the precision (fp32 or bf16 autocast); None when both are fixed,
    which is what a bit-exact run needs, and off the CPU."""
    if hw.type != "cpu":
        return None
    if config.cpu_threads:
        torch.set_num_threads(config.cpu_threads)
    share = torch.get_num_threads()
    threads = [share] if config.cpu_threads or share == 1 else [1, share]
    precisions = {"fp32": [False], "bf16": [True]}.get(config.cpu_precision, [False, True])
    choices = [device.SpeedSetting(n, bf16) for n in threads for bf16 in precisions]
    return device.SpeedTuner(choices) if len(choices) > 1 else None


def fixed_speed_setting(config: TrainConfig) -> device.SpeedSetting:
    """The setting of a CPU run that has nothing left to tune."""
    return device.SpeedSetting(torch.get_num_threads(), config.cpu_precision == "bf16")


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


def _report_check(tuner: device.SpeedTuner, reporter: Reporter) -> None:
    """The first speed check and every one that changes the choice become an event of the run."""
    if tuner.choice_changed:
        reporter.event("info", f"speed check: {tuner.describe_check()}; training in {tuner.best}")


def _checkpoint(trainer: Trainer, reporter: Reporter) -> None:
    """Save and report a checkpoint; a write that fails (a full disk) ends the run with what is kept.
    What was logged up to this step is made durable first: a kill between the two then only costs rows
    that the resume (from the older checkpoint) truncates and logs again, never rows that nobody logs.
    Every rank of a data-parallel run calls it (each one's RNG goes into the checkpoint)."""
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
    if path is not None:
        reporter.checkpoint(trainer.step, path)


def _starting_state(trainer: Trainer, initial_weights) -> tuple[dict | None, list[str], dict | None]:
    """(checkpoint state, warnings, init_from weights), read by the writer and shared with every rank (the
    other nodes need not see the run's folder). An error is shared too, so that every rank ends with it."""
    team = trainer.team
    found: tuple | GandashError = (None, [], None)
    if team.is_writer:
        try:
            checkpoints.remove_leftovers(trainer.run_dir)
            state, warnings = checkpoints.latest(trainer.run_dir, map_location="cpu")
            if state is None and warnings:  # checkpoints exist and none loads: never start over silently
                raise checkpoints.all_damaged(trainer.run_dir, trainer.run_dir.name, warnings)
            weights = initial_weights() if state is None and trainer.config.init_from else None
            found = (state, warnings, weights)
        except GandashError as exc:
            found = exc
    found = team.share(found)
    if isinstance(found, GandashError):
        raise found
    return found


def _run(trainer: Trainer, reporter: Reporter, should_stop, initial_weights) -> tuple[str, str]:
    config, team = trainer.config, trainer.team
    state, warnings, weights = _starting_state(trainer, initial_weights)
    for warning in warnings:
        reporter.event("warning", warning)
    where = trainer.hw.type + (f", {team.world} processes ({team.backend})" if team.distributed else "")
    if state is not None:
        trainer.load_state(state)  # load_state_dict copies onto each parameter's device
        reporter.rewind(trainer.step)
        ranks = len(state["rng"].get("ranks") or [None])
        if ranks != team.world:
            reporter.event(
                "warning",
                f"the checkpoint was written by {ranks} process(es) and this run has {team.world}: it continues "
                "from the same weights and data position, but not bit for bit as it would have",
            )
        reporter.event("info", f"resumed from the checkpoint of step {trainer.step} on {where}")
    else:
        reporter.rewind(0)
        if weights is not None:
            trainer.start_from(weights)
            reporter.event("info", f"G starts from the weights of {config.init_from}")
        reporter.event("info", f"started on {where} with {len(trainer.data)} training rows")
    saved_step = trainer.step
    window_start, window_steps = time.perf_counter(), 0
    images_per_step = config.batch_size * config.d_steps * team.world
    status, message = "completed", "budget reached"
    stepper = Stepper(trainer, reporter)
    # the writer tunes; the other ranks train with the setting it chose (it travels in the step's agreement)
    tuner = speed_tuner(config, trainer.hw) if team.is_writer else None
    setting = None
    if trainer.hw.type == "cpu":
        setting = tuner.best if tuner else fixed_speed_setting(config)
        trainer.use_cpu_setting(setting)
    evaluator = Evaluator(config) if type(trainer) is Trainer else Evaluator(config, samples=0)
    explosion = diagnose.ExplosionWatch()
    diverged = ""  # why this rank saw the run diverge, at the step just trained
    while True:
        # in a data-parallel run the writer's setting for this step travels in the agreement
        proposed = (tuner.next_setting() if tuner else setting) if team.distributed else None
        stop, budget, divergences, threads, bf16 = team.agree(
            [
                float(bool(should_stop())),
                float(budget_reached(config, trainer.step, trainer.train_seconds)),
                float(bool(diverged)),
                float(proposed.threads) if proposed and team.is_writer else 0.0,
                float(proposed.bf16) if proposed and team.is_writer else 0.0,
            ]
        )
        if divergences:
            status = "diverged"
            message = diverged or (
                f"the losses became NaN or infinite on another process at step {trainer.step}; nothing after "
                f"the checkpoint of step {saved_step} was kept. Try a lower learning rate (lr_d, lr_g)."
            )
            break
        if budget:
            break
        if stop:
            status, message = "stopped", f"stopped at step {trainer.step}"
            break
        if not team.distributed and stepper.handle(reporter.commands()):
            window_start, window_steps = time.perf_counter(), 0  # paused time is not training time
            continue
        if setting is not None and (team.distributed or tuner):
            setting = device.SpeedSetting(int(threads), bool(bf16)) if team.distributed else tuner.next_setting()
            trainer.use_cpu_setting(setting)
        started = time.perf_counter()
        if config.lr_schedule != "constant":
            trainer.apply_lr_schedule()
        values = trainer.train_step(measure=(trainer.step + 1) % config.log_every == 0)
        if tuner and tuner.record(time.perf_counter() - started):
            _report_check(tuner, reporter)
        window_steps += 1
        if values is not None:
            finite = trainer.is_finite()  # on every rank, before anything that may differ between ranks
            if not finite or not all(np.isfinite(v) for v in values.values()):
                diverged = (
                    f"the losses became NaN or infinite at step {trainer.step}; nothing after the "
                    f"checkpoint of step {saved_step} was kept. Try a lower learning rate (lr_d, lr_g), "
                    "fewer D steps, or the hinge or wgan-gp variants."
                )
                continue  # the next agreement ends the run on every rank
            now = time.perf_counter()
            values["images_per_sec"] = window_steps * images_per_step / max(now - window_start, 1e-9)
            window_start, window_steps = now, 0
            if setting is not None:  # what this step trained with, for the run's page
                values.update(threads=setting.threads, bf16=float(setting.bf16))
            if team.distributed:
                values["processes"] = team.world
            if team.is_writer and evaluator.due(trainer.train_seconds + now - started, trainer):
                values.update(_evaluate(evaluator, trainer, reporter))
                # evaluation is neither training time nor part of the next throughput window
                spent = time.perf_counter() - now
                started += spent
                window_start += spent
            reporter.metrics(trainer.step, values)  # one call, so quality rows share the step's batch
            exploded = explosion.add(trainer.step, values) if team.is_writer else None
            if exploded is not None:
                diverged = (
                    f"{exploded.title} ({exploded.evidence}), so the run stopped itself at step "
                    f"{trainer.step}; nothing after the checkpoint of step {saved_step} was kept. "
                    f"{exploded.advice}"
                )
                continue
        if team.is_writer and trainer.step % config.sample_every == 0:
            reporter.sample(trainer.step, trainer.save_samples())
        if values:
            trainer.note_quality(values)  # a best-so-far evaluation marks the next checkpoint as the best
        if trainer.step % config.checkpoint_every == 0 and trainer.is_finite():  # never checkpoint NaNs
            _checkpoint(trainer, reporter)
            saved_step = trainer.step
        trainer.train_seconds += time.perf_counter() - started
    if status != "diverged" and trainer.step > saved_step and trainer.is_finite():
        if team.is_writer and trainer.step % config.sample_every:
            reporter.sample(trainer.step, trainer.save_samples())
        _checkpoint(trainer, reporter)
    reporter.event("error" if status == "diverged" else "info", message)
    return status, message
