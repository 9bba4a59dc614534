"""The training step and loop: k D steps per G step (Algorithm 1 of Goodfellow et al.), EMA,
mixed precision on CUDA, fixed-noise samples, atomic checkpoints and exact resume.

`train(config, run_dir, reporter, should_stop)` is the whole job; the worker process and the
foreground CLI both call it and differ only in the reporter they pass.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch.optim.swa_utils import AveragedModel

from gandash import checkpoints, data, device, diagnose, images, losses, variants
from gandash.config import TrainConfig, lr_factor
from gandash.errors import GandashError, StorageError
from gandash.evaluator import Evaluator
from gandash.paths import atomic_write_bytes

GRID_SIZE = 64  # fixed-noise images in each sample grid
TOY_SAMPLES = 1024
MANIFOLD_LINES = 15  # z-grid lines per axis in a 2D run's snapshot
MIXTURE_MANIFOLD_LINES = 7  # per generator of a mixture (50 of them)


class Reporter:
    """Where the loop sends what it observes (and asks for commands); the worker's reporter talks
    to the store."""

    def metrics(self, step: int, values: dict[str, float]) -> None: ...
    def sample(self, step: int, path: Path) -> None: ...
    def before_checkpoint(self, step: int) -> None: ...  # make everything logged so far durable first
    def checkpoint(self, step: int, path: Path) -> None: ...
    def event(self, level: str, text: str) -> None: ...
    def rewind(self, step: int) -> None: ...  # resuming: forget what was logged after `step`
    def phase(self, state: dict) -> None: ...  # step-by-step mode: where in Algorithm 1 we are
    def commands(self) -> list[str]:  # pause | continue | step | step-d | step-g
        return []


class Trainer:
    def __init__(self, config: TrainConfig, run_dir: Path, dataset: data.Dataset | None = None):
        self.config = config
        self.run_dir = Path(run_dir)
        self.variant = variants.get(config.variant)
        self.hw = device.pick(config.device, config.mixed_precision, conv_net=self.variant.data_kind == "image")
        torch.manual_seed(config.seed)
        self.data = dataset or data.load(config.dataset, config.data_dir, config.image_size or None,
                                         config.channels or None, seed=config.seed)
        self._place_data()
        self.generator, self.discriminator = self.variant.build(config)
        memory = torch.channels_last if self.hw.channels_last else torch.preserve_format
        self.generator.to(self.hw.device, memory_format=memory)
        self.discriminator.to(self.hw.device, memory_format=memory)
        self.opt_g = make_optimizer(config, self.generator.parameters(), config.lr_g)
        self.opt_d = make_optimizer(config, self.discriminator.parameters(), config.lr_d)
        self.ema = (AveragedModel(self.generator, multi_avg_fn=ema_with_warmup(config.ema_decay),
                                  use_buffers=True) if config.ema_decay else None)
        self.scaler = torch.amp.GradScaler("cuda") if self.hw.amp_dtype == torch.float16 else None
        self.step, self.epoch, self.position, self.train_seconds = 0, 0, 0, 0.0
        self._order: torch.Tensor | None = None
        self._finite = torch.ones((), dtype=torch.bool, device=self.hw.device)
        self.fixed_noise, self.fixed_labels = fixed_inputs(config, GRID_SIZE if config.image_size else TOY_SAMPLES,
                                                           self.hw.device)

    # --- data ------------------------------------------------------------------------------
    def _place_data(self) -> None:
        """On CUDA keep a small dataset on the GPU (no copies per step) and pin a large one."""
        if self.hw.type != "cuda":
            return
        tensor = self.data.images if self.data.images is not None else self.data.points
        on_gpu = tensor.numel() * tensor.element_size() < 2 * 1024**3
        moved = tensor.to(self.hw.device) if on_gpu else tensor.pin_memory()
        if self.data.images is not None:
            self.data.images = moved
        else:
            self.data.points = moved
        if self.data.labels is not None and on_gpu:
            self.data.labels = self.data.labels.to(self.hw.device)

    def _next_index(self) -> torch.Tensor:
        """The next batch of row indices: a seeded permutation per epoch, so (epoch, position)
        is all that resume needs to continue the same order."""
        n, size = len(self.data), self.config.batch_size
        if n < size:  # tiny datasets: draw with replacement
            generator = torch.Generator().manual_seed(self.config.seed * 1_000_003 + self.step)
            return torch.randint(n, (size,), generator=generator)
        if self.position + size > n:
            self.epoch, self.position, self._order = self.epoch + 1, 0, None
        if self._order is None:
            generator = torch.Generator().manual_seed(self.config.seed * 1_000_003 + self.epoch)
            self._order = torch.randperm(n, generator=generator)
        index = self._order[self.position:self.position + size]
        self.position += size
        return index

    def _next_batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        index = self._next_index()
        source = self.data.images if self.data.images is not None else self.data.points
        real = self.data.batch(index.to(source.device), self.hw.device, self.hw.channels_last)
        labels = None
        if self.config.num_classes:
            labels = self.data.labels[index.to(self.data.labels.device)].to(self.hw.device, non_blocking=True)
        return real, labels

    def noise(self, n: int) -> torch.Tensor:
        """n rows of z ~ N(0, I); for a mixture of generators stratified so each draws its share."""
        stratified = getattr(self.generator, "stratified_z", None)
        if stratified is not None:
            return stratified(n, self.hw.device)
        return torch.randn(n, self.config.z_dim, device=self.hw.device)

    # --- one step of Algorithm 1 ---------------------------------------------------------------
    def _autocast(self):
        if self.hw.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.hw.type, dtype=self.hw.amp_dtype)

    def _backward_step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer, params, measure: bool):
        optimizer.zero_grad(set_to_none=True)
        if self.scaler:
            self.scaler.scale(loss).backward()
            if measure:
                self.scaler.unscale_(optimizer)
        else:
            loss.backward()
        norm = grad_norm(params) if measure else None
        if self.scaler:
            self.scaler.step(optimizer)
            self.scaler.update()
        else:
            optimizer.step()
        return norm

    def _d_update(self, measure: bool, keep_fake: bool):
        """One discriminator update on a fresh real batch and fresh fakes. Returns (loss, real logits,
        fake logits, grad norm, fakes, labels); the fakes keep their graph when `keep_fake`."""
        c, G, D = self.config, self.generator, self.discriminator
        real, labels = self._next_batch()
        z = self.noise(len(real))
        with self._autocast():
            with contextlib.nullcontext() if keep_fake else torch.no_grad():
                fake = G(z, labels)
            real_logits = D(real, labels)
            fake_logits = D(fake.detach(), labels)
            loss = losses.discriminator_loss(c.loss, real_logits, fake_logits)
        if c.gp_weight:  # penalties in fp32: second derivatives under fp16 overflow
            loss = loss + c.gp_weight * losses.gradient_penalty(D, real.float(), fake.float(), labels)
        if c.r1_weight:
            loss = loss + 0.5 * c.r1_weight * losses.r1_penalty(D, real.float(), labels)
        norm = self._backward_step(loss, self.opt_d, D.parameters(), measure)
        clip_weights(D, c.clip_value)
        return loss, real_logits, fake_logits, norm, fake, labels

    def _g_update(self, fake: torch.Tensor, labels: torch.Tensor | None, measure: bool):
        """One generator update through D's judgement of `fake`; counts as a training step."""
        with self._autocast():
            fake_logits = self.discriminator(fake, labels)
            loss = losses.generator_loss(self.config.loss, fake_logits, self.config.g_loss)
        norm = self._backward_step(loss, self.opt_g, self.generator.parameters(), measure)
        if self.ema is not None:
            self.ema.update_parameters(self.generator)
        self.step += 1
        return loss, fake_logits, norm

    def apply_lr_schedule(self) -> None:
        """Set both learning rates for where the run is in its budget (config.lr_schedule)."""
        factor = lr_factor(self.config, self.step, self.train_seconds)
        for optimizer, base in ((self.opt_g, self.config.lr_g), (self.opt_d, self.config.lr_d)):
            for group in optimizer.param_groups:
                group["lr"] = base * factor

    def train_step(self, measure: bool = False) -> dict[str, float] | None:
        """k discriminator steps, then one generator step. The last D step's fakes are reused for
        the G step (one G forward per iteration, as in pytorch/examples' DCGAN)."""
        k = self.config.d_steps
        for index in range(k):
            last = index == k - 1
            loss_d, real_logits, fake_logits, norm_d, fake, labels = self._d_update(measure and last, keep_fake=last)
        loss_g, fake_logits_g, norm_g = self._g_update(fake, labels, measure)
        self._finite &= torch.isfinite(loss_d.detach()) & torch.isfinite(loss_g.detach())
        if not measure:
            return None
        return {"loss_d": loss_d.item(), "loss_g": loss_g.item(), "d_x": _mean_prob(real_logits),
                "d_g_z1": _mean_prob(fake_logits), "d_g_z2": _mean_prob(fake_logits_g),
                "grad_norm_d": norm_d, "grad_norm_g": norm_g}

    # --- step-by-step mode: one line of Algorithm 1 at a time ---------------------------------
    def single_d_step(self) -> dict[str, float]:
        loss, real_logits, fake_logits, norm, _, _ = self._d_update(measure=True, keep_fake=False)
        self._finite &= torch.isfinite(loss.detach())
        return {"loss_d": loss.item(), "d_x": _mean_prob(real_logits), "d_g_z1": _mean_prob(fake_logits),
                "grad_norm_d": norm}

    def single_g_step(self) -> dict[str, float]:
        """A generator step on fresh noise (Algorithm 1 samples a new minibatch of z for G)."""
        labels = self._next_batch()[1]
        z = self.noise(self.config.batch_size)
        with self._autocast():
            fake = self.generator(z, labels)
        loss, fake_logits, norm = self._g_update(fake, labels, measure=True)
        self._finite &= torch.isfinite(loss.detach())
        return {"loss_g": loss.item(), "d_g_z2": _mean_prob(fake_logits), "grad_norm_g": norm}

    def is_finite(self) -> bool:
        return bool(self._finite.item())

    # --- samples ---------------------------------------------------------------------------
    def sampling_generator(self) -> torch.nn.Module:
        return self.ema.module if self.ema is not None else self.generator

    @torch.no_grad()
    def save_samples(self) -> Path:
        """The fixed-noise grid (images) or point cloud (toy) of this step, as PNG (+ npz for points)."""
        G = self.sampling_generator()
        was_training = G.training
        G.eval()
        points_run = self.variant.data_kind == "points"
        try:
            out = G(self.fixed_noise, self.fixed_labels).float()
            manifold = self.manifold(G) if points_run else None
        finally:
            G.train(was_training)
        folder = self.run_dir / "samples"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"step_{self.step:08d}.png"
        if points_run:
            points = out.cpu().numpy()
            real = self.data.points[:TOY_SAMPLES].cpu().numpy()
            extent = float(np.abs(real).max()) * 1.4
            buffer = io.BytesIO()
            np.savez(buffer, points=points, real=real, surface=self.decision_surface(extent), extent=extent,
                     manifold=manifold)
            atomic_write_bytes(path.with_suffix(".npz"), buffer.getvalue())
            images.save_png(path, images.scatter_png(points, real, extent=extent))
        else:
            images.save_png(path, images.grid_png(out, nrow=8))
        return path

    @torch.no_grad()
    def manifold(self, generator: torch.nn.Module, lines: int = MANIFOLD_LINES) -> np.ndarray:
        """G applied to a regular lines x lines grid in z-space (rows vary z_2, columns z_1), GAN Lab's
        "manifold": drawn as a mesh it shows how G stretches and folds the noise onto the data. For
        z_dim > 2 it is the slice through the first two coordinates with the others at 0. A mixture of
        generators gets one small mesh each, (generators, 7, 7, 2), over its own noise: one grid across
        z's first coordinate would only join different generators' outputs."""
        count = getattr(generator, "generators", 1)
        mixture = count > 1
        if mixture:
            lines = MIXTURE_MANIFOLD_LINES
        axis = torch.linspace(-2.5, 2.5, lines)  # ±2.5 σ holds 99% of each N(0, 1) coordinate
        ys, xs = torch.meshgrid(axis, axis, indexing="ij")
        z = torch.zeros(count, lines * lines, self.config.z_dim)
        first = 1 if mixture else 0  # a mixture: z_0 picks the generator (the middle of its slice)
        if mixture:
            z[:, :, 0] = torch.special.ndtri((torch.arange(count) + 0.5) / count)[:, None]
        z[:, :, first] = xs.flatten()
        if self.config.z_dim > first + 1:
            z[:, :, first + 1] = ys.flatten()
        out = generator(z.view(-1, self.config.z_dim).to(self.hw.device), None).float().cpu().numpy()
        out = out.reshape(count, lines, lines, -1)
        return out if mixture else out[0]

    @torch.no_grad()
    def decision_surface(self, extent: float, resolution: int = 64) -> np.ndarray:
        """sigmoid(D) on a resolution^2 grid over [-extent, extent]^2 (rows are y, from -extent up):
        the landscape GAN Lab draws behind the points. A packing D sees each grid point `pack` times."""
        axis = torch.linspace(-extent, extent, resolution)
        ys, xs = torch.meshgrid(axis, axis, indexing="ij")
        grid = torch.stack([xs.flatten(), ys.flatten()], 1).to(self.hw.device)
        pack = getattr(self.discriminator, "pack", 1)
        logits = self.discriminator(grid.repeat_interleave(pack, 0))
        return torch.sigmoid(logits.float()).view(resolution, resolution).cpu().numpy()

    # --- checkpoints -----------------------------------------------------------------------
    def state(self) -> dict:
        rng = {"torch": torch.get_rng_state()}
        if self.hw.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state_all()
        return {
            "config": asdict(self.config),
            "generator": self.generator.state_dict(), "discriminator": self.discriminator.state_dict(),
            "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
            "ema": self.ema.module.state_dict() if self.ema is not None else None,
            "ema_count": int(self.ema.n_averaged) if self.ema is not None else 0,
            "scaler": self.scaler.state_dict() if self.scaler else None,
            "rng": rng, "epoch": self.epoch, "position": self.position,
            "train_seconds": self.train_seconds,
        }

    def note_quality(self, values: dict) -> None:
        """Watch the evaluations: the checkpoint after a best-so-far one is kept as the best."""
        if getattr(self, "_best", None) is None:  # made on first use: it reads best.json (resume)
            self._best = checkpoints.BestTracker(self.run_dir)
        self._best.offer(self.step, values)

    def save_checkpoint(self) -> Path:
        best = self._best.take() if getattr(self, "_best", None) is not None else None
        return checkpoints.save(self.run_dir, self.step, self.state(), self.config.keep_checkpoints, best=best)

    def start_from(self, weights: dict) -> None:
        """Fine-tuning: G (and its EMA) begin as trained weights; D and the optimisers start afresh."""
        try:
            self.generator.load_state_dict(weights)
        except RuntimeError as exc:
            raise GandashError(f"the weights of init_from {self.config.init_from} do not fit this run's generator "
                               f"(another width or shape? {str(exc).splitlines()[0]})") from None
        if self.ema is not None:
            self.ema.module.load_state_dict(weights)

    def load_state(self, state: dict) -> None:
        if state["config"].get("variant") != self.config.variant:
            raise GandashError(f"the checkpoint is of variant '{state['config'].get('variant')}', "
                               f"not '{self.config.variant}'.")
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        if self.ema is not None and state.get("ema") is not None:
            self.ema.module.load_state_dict(state["ema"])
            self.ema.n_averaged.fill_(state["ema_count"])
        if self.scaler and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng"]["torch"])
        if self.hw.type == "cuda" and "cuda" in state["rng"]:
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        self.step, self.epoch, self.position = state["step"], state["epoch"], state["position"]
        self.train_seconds = state["train_seconds"]
        self._order = None


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
            self.reporter.phase({"paused": self.paused, "d_done": self.d_done, "k": self.trainer.config.d_steps,
                                 "last": self.last, "step": self.trainer.step})
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


def initial_weights(config: TrainConfig) -> dict:
    """The generator weights config.init_from names: the bundled deblur U-Net, or the newest checkpoint
    (EMA weights when kept) of a run of the same variant."""
    from gandash import deblur, paths, sampling

    if config.init_from == "bundled":
        return deblur.bundled_model().state_dict()
    source = paths.run_dir(config.init_from)
    if not (source / "config.json").is_file():
        raise GandashError(f"init_from: there is no run '{config.init_from}' (see `python -m gandash runs`).")
    variant = TrainConfig.load(source / "config.json").variant
    if variant != config.variant:
        raise GandashError(f"init_from: run '{config.init_from}' is a {variant} run; this one is {config.variant}.")
    return sampling.load_generator(source, ema=True)[0].state_dict()


def ema_with_warmup(decay: float):
    """EMA of G's weights whose decay grows as min(decay, (1 + n) / (10 + n)) over the first updates.
    A plain 0.999 EMA still holds 0.999^2000 = 14% of the random initial weights after 2000 steps,
    and a short CPU run's samples came out as blurry averages; the warm-up forgets the start."""
    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], num_averaged) -> None:
        n = float(num_averaged)
        weight = 1.0 - min(decay, (1.0 + n) / (10.0 + n))
        floats = [(a, c) for a, c in zip(averaged, current) if a.is_floating_point()]
        if floats:
            torch._foreach_lerp_([a for a, _ in floats], [c for _, c in floats], weight)
        for a, c in zip(averaged, current):  # counters such as BatchNorm's num_batches_tracked
            if not a.is_floating_point():
                a.copy_(c)
    return update


def fixed_inputs(config: TrainConfig, count: int, where: torch.device):
    """The same noise (and labels: each class in turn) for every sample grid of a run, drawn from
    its own generator so it does not disturb the training RNG."""
    generator = torch.Generator().manual_seed(config.seed + 12345)
    noise = torch.randn(count, config.z_dim, generator=generator).to(where)
    labels = torch.arange(count) % config.num_classes if config.num_classes else None
    return noise, (labels.to(where) if labels is not None else None)


def make_optimizer(config: TrainConfig, params, lr: float) -> torch.optim.Optimizer:
    """Adam (the DCGAN recipe), or RMSProp for the original WGAN, whose authors saw momentum make the
    clipped critic unstable."""
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    return torch.optim.Adam(params, lr=lr, betas=(config.beta1, config.beta2))


@torch.no_grad()
def clip_weights(discriminator: torch.nn.Module, value: float) -> None:
    """The original WGAN's crude Lipschitz bound: every critic weight into [-value, value] (0 = off)."""
    if value:
        for parameter in discriminator.parameters():
            parameter.clamp_(-value, value)


def _mean_prob(logits: torch.Tensor) -> float:
    return torch.sigmoid(logits.detach().float()).mean().item()


def grad_norm(params) -> float:
    grads = [p.grad for p in params if p.grad is not None]
    return float(torch.nn.utils.get_total_norm(grads)) if grads else 0.0


def budget_reached(config: TrainConfig, step: int, seconds: float) -> bool:
    total = config.total_steps
    return bool((total and step >= total) or (config.max_minutes and seconds >= config.max_minutes * 60))


def trainer_class(variant_name: str) -> type[Trainer]:
    """Trainer, or the class a variant names for its own kind of step."""
    named = variants.get(variant_name).trainer
    if named is None:
        return Trainer
    module, _, cls = named.partition(":")
    return getattr(importlib.import_module(module), cls)


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


def train(config: TrainConfig, run_dir: Path, reporter: Reporter, should_stop=lambda: False,
          dataset: data.Dataset | None = None) -> tuple[str, str]:
    """Train until the budget, a stop request or divergence; returns (status, message)."""
    threads = torch.get_num_threads()
    try:
        return _train(config, run_dir, reporter, should_stop, dataset)
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
        kept_text = (f"the checkpoint of step {checkpoints.step_of(kept[0])} is kept, and resume continues from it"
                     if kept else "no checkpoint of this run was written yet")
        raise StorageError(f"{exc} The run stopped at step {trainer.step}; {kept_text}.", exc.errno) from None
    reporter.checkpoint(trainer.step, path)


def _train(config: TrainConfig, run_dir: Path, reporter: Reporter, should_stop, dataset) -> tuple[str, str]:
    trainer = trainer_class(config.variant)(config, run_dir, dataset)
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
            trainer.start_from(initial_weights(config))
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
                message = (f"the losses became NaN or infinite at step {trainer.step}; nothing after the "
                           f"checkpoint of step {saved_step} was kept. Try a lower learning rate (lr_d, lr_g), "
                           "fewer D steps, or the hinge or wgan-gp variants.")
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
                message = (f"{exploded.title} ({exploded.evidence}), so the run stopped itself at step "
                           f"{trainer.step}; nothing after the checkpoint of step {saved_step} was kept. "
                           f"{exploded.advice}")
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
