"""Data-parallel training across processes, on PyTorch's own engine: torchrun starts the processes and
sets RANK, WORLD_SIZE, LOCAL_RANK (runs.jobs launches it), `join` makes the process group (gloo on CPUs,
NCCL on CUDA, one device per rank) and `replicate` wraps G and D in DistributedDataParallel, which
averages their gradients during backward. Nothing here rendezvouses or averages by hand.

What GANs need of DDP, and why:
- D runs twice (real, then fake) before one backward. DDP allows it (each parameter's gradient is summed
  within the one backward, so its hook fires once), but not with buffers broadcast at every forward: an
  in-place overwrite of BatchNorm's statistics between the two forwards breaks autograd. So
  forward_sync_buffers=False: each rank keeps its own running statistics (training uses batch
  statistics; samples and checkpoints come from the writer's), and SyncBatchNorm is offered on CUDA for
  small per-rank batches.
- The G step runs through D only as a judge: `judging(D)` turns D's parameter gradients off and skips
  DDP's sync for that pass. Those gradients were always thrown away (the next D step zeroes them), so
  this saves their computation and communication, and DDP is not left waiting for them.
- Variants call their nets' own methods and parts (InfoGAN's `forward_with_codes`, LAPGAN's `levels`,
  DiscoGAN's `G.ab`): a Replica routes every such call through DDP's forward, or its gradients would never
  be averaged.
- One writer: the process that writes the store, the samples and the checkpoints and runs the evaluator
  (the local rank 0 of the node gandash launched, see `join`); the others only train.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, replace
from datetime import timedelta

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from gandash.core.paths import WRITER_ENV


@dataclass(frozen=True)
class Team:
    """This process's place among a run's training processes; the default is a run of one."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    local_world: int = 1
    writer: int = 0  # the rank that writes results
    backend: str = ""

    @property
    def distributed(self) -> bool:
        return self.world > 1

    @property
    def is_writer(self) -> bool:
        return self.rank == self.writer

    def agree(self, values: list[float]) -> list[float]:
        """Every rank's `values` summed, on every rank: the loop's one collective per step (a stop asked on
        any rank, the budget, a divergence, the writer's speed setting), so all ranks leave at one step."""
        if not self.distributed:
            return values
        tensor = torch.tensor(values, dtype=torch.float64)  # small talk goes over gloo, on the CPU
        dist.all_reduce(tensor)
        return tensor.tolist()

    def share(self, value):
        """The writer's `value` (any picklable object), on every rank."""
        if not self.distributed:
            return value
        box = [value if self.is_writer else None]
        dist.broadcast_object_list(box, src=self.writer, device=torch.device("cpu"))
        return box[0]

    def gather(self, value) -> list:
        """Every rank's `value`, in rank order, on every rank."""
        if not self.distributed:
            return [value]
        out = [None] * self.world
        dist.all_gather_object(out, value)
        return out


SOLO = Team()


def backend_for(device_type: str) -> str:
    """What carries the gradients: NCCL between GPUs, gloo between CPU processes."""
    return "nccl" if device_type == "cuda" else "gloo"


def process_group_backend(cuda_available: bool) -> str:
    """The process group's backends: gloo for the CPU tensors every run exchanges (the step's agreement, the
    config and checkpoint shared by the writer), with NCCL for CUDA tensors where there is CUDA."""
    return "cpu:gloo,cuda:nccl" if cuda_available else "gloo"


def device_for(device_type: str, local_rank: int) -> torch.device:
    """One device per rank on CUDA (the rank's local index); the CPU is shared, each rank on its share of
    the cores (threads_per_rank)."""
    return torch.device("cuda", local_rank) if device_type == "cuda" else torch.device(device_type)


def threads_per_rank(cores: int, local_world: int, jobs: int = 1) -> int:
    """A CPU rank's intra-op threads: the machine's cores split among the ranks on it (and the jobs)."""
    return max(1, cores // max(1, local_world * jobs))


def rank_seed(seed: int, rank: int) -> int:
    """The RNG seed of a rank: the run's seed on rank 0 (so a run of one is the same run as before), a
    different stream on every other rank (its noise), all derived from the run's seed."""
    return seed if rank == 0 else (seed * 1_000_003 + rank * 7919) % 2**63


def environment() -> dict[str, int] | None:
    """The rank variables torchrun gave this process, or None outside torchrun."""
    try:
        return {
            "rank": int(os.environ["RANK"]),
            "world": int(os.environ["WORLD_SIZE"]),
            "local_rank": int(os.environ.get("LOCAL_RANK", 0)),
            "local_world": int(os.environ.get("LOCAL_WORLD_SIZE", 1)),
        }
    except (KeyError, ValueError):
        return None


def join(timeout_minutes: float = 10.0) -> Team:
    """Join the run's process group (torchrun's environment) and agree on the writer: the local rank 0
    of the node whose launcher runs.jobs started (WRITER_ENV), or rank 0 when every node was started by
    hand. With c10d rendezvous the ranks are ordered by host name, so that node need not hold rank 0.
    The team's `backend` is gloo until `on_device` says the run trains on CUDA."""
    env = environment()
    if env is None or env["world"] < 2:
        return SOLO
    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(env["local_rank"] % torch.cuda.device_count())
    dist.init_process_group(process_group_backend(cuda), timeout=timedelta(minutes=timeout_minutes))
    claims = Team(**env).gather(env["local_rank"] == 0 and os.environ.get(WRITER_ENV) == "1")
    writer = claims.index(True) if True in claims else 0
    return Team(**env, writer=writer, backend="gloo")


def on_device(team: Team, device_type: str) -> Team:
    """The team as it trains on `device_type`: its gradients go over that device's backend."""
    return replace(team, backend=backend_for(device_type)) if team.distributed else team


def leave(team: Team) -> None:
    if team.distributed and dist.is_initialized():
        dist.destroy_process_group()


class _Calls(torch.nn.Module):
    """Turns net.method(*args) into a forward call, so DDP's forward sees every use of the net."""

    def __init__(self, net: torch.nn.Module):
        super().__init__()
        self.net = net

    def forward(self, method: str, *args, **kwargs):
        return getattr(self.net, method)(*args, **kwargs)


class Replica(DistributedDataParallel):
    """A net in DDP that still looks like the net: its methods go through DDP's forward, and its
    state_dict is the net's (checkpoints stay interchangeable with single-process runs)."""

    @property
    def net(self) -> torch.nn.Module:
        return self.module.net

    def forward(self, *args, **kwargs):
        return super().forward("forward", *args, **kwargs)

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name == "module":
                raise
            attribute = getattr(self.module.net, name)
            method = isinstance(getattr(type(self.module.net), name, None), type(_Calls.forward))
            if method or isinstance(attribute, torch.nn.Module):  # G.levels(z), DiscoGAN's D.a(x) ...
                return lambda *args, **kwargs: DistributedDataParallel.forward(self, name, *args, **kwargs)
            return attribute

    def state_dict(self, *args, **kwargs):
        return self.module.net.state_dict(*args, **kwargs)

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        return self.module.net.load_state_dict(state_dict, strict=strict, assign=assign)


def replicate(net: torch.nn.Module, team: Team, sync_batchnorm: bool = False) -> torch.nn.Module:
    """`net` wrapped for data-parallel training (as it is for a run of one)."""
    if not team.distributed:
        return net
    if sync_batchnorm:
        net = torch.nn.SyncBatchNorm.convert_sync_batchnorm(net)
    device_ids = [team.local_rank] if team.backend == "nccl" else None
    return Replica(_Calls(net), device_ids=device_ids, forward_sync_buffers=False)


def unwrap(net: torch.nn.Module) -> torch.nn.Module:
    return net.net if isinstance(net, Replica) else net


@contextlib.contextmanager
def judging(net: torch.nn.Module):
    """`net` used only to judge (D in the G step): no gradients for its own parameters, no DDP sync."""
    params = [p for p in net.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        with net.no_sync() if isinstance(net, DistributedDataParallel) else contextlib.nullcontext():
            yield
    finally:
        for p in params:
            p.requires_grad_(True)
