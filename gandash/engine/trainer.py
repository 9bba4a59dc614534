"""One training step: k D steps per G step (Algorithm 1 of Goodfellow et al.), EMA of G, mixed precision
on CUDA, the fixed-noise sample grids, and the state a checkpoint holds for an exact resume.

engine.loop runs it; engine.paired and engine.trainers subclass it for steps that are not Algorithm 1
on (z -> G -> D).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch.optim.swa_utils import AveragedModel

from gandash import data
from gandash.core import device, images
from gandash.core.config import TrainConfig, lr_factor, lr_scale
from gandash.core.errors import GandashError
from gandash.core.paths import atomic_write_bytes
from gandash.engine import checkpoints, losses, parallel, snapshots
from gandash.engine.updates import clip_weights, ema_with_warmup, grad_norm, make_optimizer, mean_prob

GRID_SIZE = 64  # fixed-noise images in each sample grid
TOY_SAMPLES = 1024


class Nets(Protocol):
    """What a trainer needs of a variant (variants.base.Variant is one): its nets and its kind of data."""

    data_kind: str

    def build(self, config: TrainConfig) -> tuple[torch.nn.Module, torch.nn.Module]: ...


class Trainer:
    """Algorithm 1's state and one step of it: the data cursor, G and D with their optimisers, the EMA of
    G, the fixed noise of the sample grids, and what a checkpoint holds. In a data-parallel run each
    process has one (`join_team`): G and D become DDP replicas and each rank draws its share of a batch."""

    team: parallel.Team = parallel.SOLO
    lr_scale = 1.0  # how the learning rates follow the global batch (config.lr_scaling; 1 for one process)

    def __init__(self, config: TrainConfig, run_dir: Path, variant: Nets, dataset: data.Dataset | None = None):
        self.config = config
        self.run_dir = Path(run_dir)
        self.variant = variant
        self.hw = device.pick(config.device, config.mixed_precision, conv_net=self.variant.data_kind == "image")
        torch.manual_seed(config.seed)
        self.data = dataset or data.load(
            config.dataset, config.data_dir, config.image_size or None, config.channels or None, seed=config.seed
        )
        self._place_data()
        self.generator, self.discriminator = self.variant.build(config)
        memory = torch.channels_last if self.hw.channels_last else torch.preserve_format
        self.generator.to(self.hw.device, memory_format=memory)
        self.discriminator.to(self.hw.device, memory_format=memory)
        self.opt_g = make_optimizer(config, self.generator.parameters(), config.lr_g)
        self.opt_d = make_optimizer(config, self.discriminator.parameters(), config.lr_d)
        self.ema = (
            AveragedModel(self.generator, multi_avg_fn=ema_with_warmup(config.ema_decay), use_buffers=True)
            if config.ema_decay
            else None
        )
        self.amp_dtype = self.hw.amp_dtype  # on the CPU engine.loop sets it (use_cpu_setting)
        self.scaler = torch.amp.GradScaler("cuda") if self.hw.amp_dtype == torch.float16 else None
        self.step, self.epoch, self.position, self.train_seconds = 0, 0, 0, 0.0
        self._order: torch.Tensor | None = None
        self._finite = torch.ones((), dtype=torch.bool, device=self.hw.device)
        self.fixed_noise, self.fixed_labels = fixed_inputs(
            config, GRID_SIZE if config.image_size else TOY_SAMPLES, self.hw.device
        )
        self.best = checkpoints.BestTracker(self.run_dir)  # reads best.json: a resumed run keeps its best

    def join_team(self, team: parallel.Team) -> None:
        """Train as one rank of `team`: G and D replicated (DDP), this rank's own noise; every rank built
        the same nets from the run's seed, and DDP checks they start equal."""
        self.team = team
        if not team.distributed:
            return
        self.lr_scale = lr_scale(self.config.lr_scaling, team.world)
        for optimizer in (self.opt_g, self.opt_d):
            for group in optimizer.param_groups:
                group["lr"] *= self.lr_scale
        sync_bn = self.config.sync_batchnorm and self.hw.type == "cuda"
        self.generator = parallel.replicate(self.generator, team, sync_bn)
        self.discriminator = parallel.replicate(self.discriminator, team, sync_bn)
        torch.manual_seed(parallel.rank_seed(self.config.seed, team.rank))

    # --- data ------------------------------------------------------------------------------
    def _place_data(self) -> None:
        """On CUDA keep a small dataset on the GPU (no copies per step) and pin a large one."""
        if self.hw.type != "cuda":
            return
        tensor = self.data.images if self.data.images is not None else self.data.points
        on_gpu = tensor.numel() * tensor.element_size() < 2 * 1024**3
        if not on_gpu and self.data.extra.get("memory_mapped"):
            return  # a folder's disk cache bigger than memory: pinning would copy all of it into RAM
        moved = tensor.to(self.hw.device) if on_gpu else tensor.pin_memory()
        if self.data.images is not None:
            self.data.images = moved
        else:
            self.data.points = moved
        if self.data.labels is not None and on_gpu:
            self.data.labels = self.data.labels.to(self.hw.device)

    def _next_index(self) -> torch.Tensor:
        """This rank's next batch of row indices: a seeded permutation per epoch, the same on every rank,
        of which each global batch (batch_size x ranks rows) is split among the ranks, so an epoch shows
        every row once across them (DistributedSampler's semantics) and (epoch, position) is all that
        resume needs to continue the same order."""
        n, size, ranks = len(self.data), self.config.batch_size, self.team.world
        mine = slice(self.team.rank * size, (self.team.rank + 1) * size)
        if n < size * ranks:  # tiny datasets: draw with replacement
            generator = torch.Generator().manual_seed(self.config.seed * 1_000_003 + self.step)
            return torch.randint(n, (size * ranks,), generator=generator)[mine]
        if self.position + size * ranks > n:
            self.epoch, self.position, self._order = self.epoch + 1, 0, None
        if self._order is None:
            generator = torch.Generator().manual_seed(self.config.seed * 1_000_003 + self.epoch)
            self._order = torch.randperm(n, generator=generator)
        index = self._order[self.position : self.position + size * ranks][mine]
        self.position += size * ranks
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
        stratified = getattr(parallel.unwrap(self.generator), "stratified_z", None)
        if stratified is not None:
            return stratified(n, self.hw.device)
        return torch.randn(n, self.config.z_dim, device=self.hw.device)

    # --- one step of Algorithm 1 ---------------------------------------------------------------
    def use_cpu_setting(self, setting: device.SpeedSetting) -> None:
        """Train the next steps with these threads, in bf16 autocast or fp32. Weights, optimiser states,
        the EMA and the penalties stay fp32 either way; the losses are taken in fp32 (engine.losses)."""
        torch.set_num_threads(setting.threads)
        self.amp_dtype = torch.bfloat16 if setting.bf16 else None

    def _autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.hw.type, dtype=self.amp_dtype)

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
        with self._autocast(), parallel.judging(self.discriminator):
            fake_logits = self.discriminator(fake, labels)
            loss = losses.generator_loss(self.config.loss, fake_logits, self.config.g_loss)
        return loss, fake_logits, self.finish_g_step(loss, measure)

    def finish_g_step(self, loss: torch.Tensor, measure: bool) -> float | None:
        """Every variant's G update ends alike: backward and step, the EMA follows, the step counts."""
        norm = self._backward_step(loss, self.opt_g, self.generator.parameters(), measure)
        if self.ema is not None:
            self.ema.update_parameters(self.generator)
        self.step += 1
        return norm

    def apply_lr_schedule(self) -> None:
        """Set both learning rates for where the run is in its budget (config.lr_schedule)."""
        factor = lr_factor(self.config, self.step, self.train_seconds)
        for optimizer, base in ((self.opt_g, self.config.lr_g), (self.opt_d, self.config.lr_d)):
            for group in optimizer.param_groups:
                group["lr"] = base * self.lr_scale * factor

    def train_step(self, measure: bool = False) -> dict[str, float] | None:
        """k discriminator steps, then one generator step. The last D step's fakes are reused for
        the G step (one G forward per iteration, as in pytorch/examples' DCGAN)."""
        k = self.config.d_steps
        for index in range(k):
            last = index == k - 1
            loss_d, real_logits, fake_logits, norm_d, fake, labels = self._d_update(measure and last, keep_fake=last)
        loss_g, fake_logits_g, norm_g = self._g_update(fake, labels, measure)
        return self.step_report(measure, (loss_d, real_logits, fake_logits, norm_d), (loss_g, fake_logits_g, norm_g))

    # --- what a step reports (every trainer's rows have these names) ---------------------------------
    def step_report(self, measure: bool, d: tuple, g: tuple) -> dict[str, float] | None:
        """After k D steps and a G step: note whether the losses stayed finite, and when measuring, the
        row of losses, D(x), D(G(z)) before and after the G step, and gradient norms."""
        (loss_d, real_logits, fake_logits, norm_d), (loss_g, fake_logits_g, norm_g) = d, g
        self._finite &= torch.isfinite(loss_d.detach()) & torch.isfinite(loss_g.detach())
        if not measure:
            return None
        return {
            "loss_d": loss_d.item(),
            "loss_g": loss_g.item(),
            "d_x": mean_prob(real_logits),
            "d_g_z1": mean_prob(fake_logits),
            "d_g_z2": mean_prob(fake_logits_g),
            "grad_norm_d": norm_d,
            "grad_norm_g": norm_g,
        }

    def d_report(self, loss: torch.Tensor, real_logits, fake_logits, norm) -> dict[str, float]:
        """The row of a lone D step (step-by-step mode)."""
        self._finite &= torch.isfinite(loss.detach())
        return {
            "loss_d": loss.item(),
            "d_x": mean_prob(real_logits),
            "d_g_z1": mean_prob(fake_logits),
            "grad_norm_d": norm,
        }

    def g_report(self, loss: torch.Tensor, fake_logits, norm) -> dict[str, float]:
        """The row of a lone G step (step-by-step mode)."""
        self._finite &= torch.isfinite(loss.detach())
        return {"loss_g": loss.item(), "d_g_z2": mean_prob(fake_logits), "grad_norm_g": norm}

    # --- step-by-step mode: one line of Algorithm 1 at a time ---------------------------------
    def single_d_step(self) -> dict[str, float]:
        loss, real_logits, fake_logits, norm, _, _ = self._d_update(measure=True, keep_fake=False)
        return self.d_report(loss, real_logits, fake_logits, norm)

    def single_g_step(self) -> dict[str, float]:
        """A generator step on fresh noise (Algorithm 1 samples a new minibatch of z for G)."""
        labels = self._next_batch()[1]
        z = self.noise(self.config.batch_size)
        with self._autocast():
            fake = self.generator(z, labels)
        loss, fake_logits, norm = self._g_update(fake, labels, measure=True)
        return self.g_report(loss, fake_logits, norm)

    def is_finite(self) -> bool:
        """Whether every loss so far was finite (on every rank: all of them must call this together)."""
        return self.team.agree([float(not self._finite.item())])[0] == 0

    # --- samples ---------------------------------------------------------------------------
    def sampling_generator(self) -> torch.nn.Module:
        return self.ema.module if self.ema is not None else parallel.unwrap(self.generator)

    @contextlib.contextmanager
    def sampling_mode(self) -> Iterator[torch.nn.Module]:
        """The generator samples are drawn from (the EMA one when kept), in eval mode while inside."""
        generator = self.sampling_generator()
        was_training = generator.training
        generator.eval()
        try:
            with torch.no_grad():
                yield generator
        finally:
            generator.train(was_training)

    def sample_path(self) -> Path:
        folder = self.run_dir / "samples"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"step_{self.step:08d}.png"

    def write_grid(self, pictures: torch.Tensor, nrow: int) -> Path:
        """This step's sample grid of (N, C, H, W) pictures in [-1, 1], written atomically."""
        path = self.sample_path()
        atomic_write_bytes(path, images.grid_png(pictures.float(), nrow=nrow))
        return path

    def save_samples(self) -> Path:
        """The fixed-noise grid (images) or point cloud (toy) of this step, as PNG (+ npz for points)."""
        with self.sampling_mode() as G:
            out = G(self.fixed_noise, self.fixed_labels).float()
            if self.variant.data_kind != "points":
                return self.write_grid(out, nrow=8)
            manifold = snapshots.manifold(G, self.config.z_dim, self.hw.device)
        path = self.sample_path()
        points = out.cpu().numpy()
        real = self.data.points[:TOY_SAMPLES].cpu().numpy()
        extent = float(np.abs(real).max()) * 1.4
        buffer = io.BytesIO()
        np.savez(
            buffer,
            points=points,
            real=real,
            extent=extent,
            manifold=manifold,
            surface=snapshots.decision_surface(parallel.unwrap(self.discriminator), extent, self.hw.device),
        )
        atomic_write_bytes(path.with_suffix(".npz"), buffer.getvalue())
        images.save_png(path, images.scatter_png(points, real, extent=extent))
        return path

    # --- checkpoints -----------------------------------------------------------------------
    def _rng_state(self) -> dict:
        rng = {"torch": torch.get_rng_state()}
        if self.hw.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state_all()
        return rng

    def state(self) -> dict:
        """What a checkpoint holds (in a data-parallel run every rank calls it: each one's RNG is kept)."""
        own = self._rng_state()
        rng = {**own, "ranks": self.team.gather(own)} if self.team.distributed else own
        return {
            "config": asdict(self.config),
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "ema": self.ema.module.state_dict() if self.ema is not None else None,
            "ema_count": int(self.ema.n_averaged) if self.ema is not None else 0,
            "scaler": self.scaler.state_dict() if self.scaler else None,
            "rng": rng,
            "epoch": self.epoch,
            "position": self.position,
            "train_seconds": self.train_seconds,
        }

    def note_quality(self, values: dict) -> None:
        """Watch the evaluations: the checkpoint after a best-so-far one is kept as the best."""
        self.best.offer(self.step, values)

    def save_checkpoint(self) -> Path | None:
        """Every rank calls it; the writer writes (None elsewhere)."""
        state = self.state()
        if not self.team.is_writer:
            return None
        return checkpoints.save(self.run_dir, self.step, state, self.config.keep_checkpoints, best=self.best.take())

    def start_from(self, weights: dict) -> None:
        """Fine-tuning: G (and its EMA) begin as trained weights; D and the optimisers start afresh."""
        try:
            self.generator.load_state_dict(weights)
        except RuntimeError as exc:
            raise GandashError(
                f"the weights of init_from {self.config.init_from} do not fit this run's generator "
                f"(another width or shape? {str(exc).splitlines()[0]})"
            ) from None
        if self.ema is not None:
            self.ema.module.load_state_dict(weights)

    def load_state(self, state: dict) -> None:
        if state["config"].get("variant") != self.config.variant:
            raise GandashError(
                f"the checkpoint is of variant '{state['config'].get('variant')}', not '{self.config.variant}'."
            )
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        if self.ema is not None and state.get("ema") is not None:
            self.ema.module.load_state_dict(state["ema"])
            self.ema.n_averaged.fill_(state["ema_count"])
        if self.scaler and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        rng = state["rng"]
        ranks = rng.get("ranks") or []
        if self.team.distributed and len(ranks) == self.team.world:
            rng = ranks[self.team.rank]  # the same number of processes: each continues its own stream
        elif self.team.rank:
            rng = {}  # another number of processes: this rank keeps the stream it was seeded with
        if "torch" in rng:
            torch.set_rng_state(rng["torch"])
        if self.hw.type == "cuda" and "cuda" in rng:
            torch.cuda.set_rng_state_all(rng["cuda"])
        self.step, self.epoch, self.position = state["step"], state["epoch"], state["position"]
        self.train_seconds = state["train_seconds"]
        self._order = None


def fixed_inputs(config: TrainConfig, count: int, where: torch.device):
    """The same noise (and labels: each class in turn) for every sample grid of a run, drawn from
    its own generator so it does not disturb the training RNG."""
    generator = torch.Generator().manual_seed(config.seed + 12345)
    noise = torch.randn(count, config.z_dim, generator=generator).to(where)
    labels = torch.arange(count) % config.num_classes if config.num_classes else None
    return noise, (labels.to(where) if labels is not None else None)
