"""The one place that picks the device and what to do on it (AMP, channels_last, pinning)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import torch

from gandash.core.errors import GandashError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class DeviceSettings:
    device: torch.device
    amp_dtype: torch.dtype | None  # None: full fp32
    channels_last: bool
    pin_memory: bool

    @property
    def type(self) -> str:
        return self.device.type


def available_accelerators() -> dict[str, bool]:
    mps = getattr(torch.backends, "mps", None)
    return {
        "cuda": torch.cuda.is_available(),
        "mps": bool(mps and mps.is_available()),
    }


def resolve_device_type(requested: str, available: dict[str, bool]) -> str:
    """cuda, then mps, then cpu for 'auto'; an explicit choice must be present."""
    if requested not in DEVICE_CHOICES:
        raise GandashError(f"device '{requested}' is unknown; choose one of {', '.join(DEVICE_CHOICES)}.")
    if requested == "auto":
        for kind in ("cuda", "mps"):
            if available.get(kind):
                return kind
        return "cpu"
    if requested != "cpu" and not available.get(requested):
        raise GandashError(f"device '{requested}' was asked for but none is visible here; use 'auto' or 'cpu'.")
    return requested


def settings_for(device_type: str, mixed_precision: bool, bf16_supported: bool, conv_net: bool) -> DeviceSettings:
    """Pure policy, unit-tested without a GPU: on CUDA use bf16 autocast where the card has it
    (else fp16 with a grad scaler), channels_last for conv nets and pinned host memory. On the CPU
    conv nets are channels_last too: oneDNN's convolutions are faster in it (2 cores, one step: a
    28x28 DCGAN 62 -> 54 ms, the conditional one 78 -> 62, hinge + spectral norm 146 -> 105)."""
    if device_type == "cuda":
        amp = (torch.bfloat16 if bf16_supported else torch.float16) if mixed_precision else None
        return DeviceSettings(torch.device("cuda"), amp, channels_last=conv_net, pin_memory=True)
    return DeviceSettings(
        torch.device(device_type), None, channels_last=conv_net and device_type == "cpu", pin_memory=False
    )


def pick(requested: str = "auto", mixed_precision: bool = True, conv_net: bool = True) -> DeviceSettings:
    kind = resolve_device_type(requested, available_accelerators())
    bf16 = kind == "cuda" and torch.cuda.is_bf16_supported()
    return settings_for(kind, mixed_precision, bf16, conv_net)


def cpu_threads(cores: int, concurrent_jobs: int, small_net: bool) -> int:
    """Intra-op threads for one training process on the CPU. Threads that outnumber the cores make
    OpenMP's barriers wait on descheduled threads, and a toy MLP's tiny matrices run slower on two
    threads than on one; so: one thread for small nets, else a fair share of the cores."""
    if small_net:
        return 1
    return max(1, cores // max(1, concurrent_jobs))


def use_fair_share_of_cores(small_net: bool, concurrent_jobs: int = 1) -> int:
    """Set torch's CPU threads for a training process by cpu_threads; returns the previous setting."""
    import os

    before = torch.get_num_threads()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    torch.set_num_threads(cpu_threads(cores, concurrent_jobs, small_net))
    return before


class ThreadTuner:
    """Keeps the faster of a few thread counts while a CPU run trains. Which is faster depends on the
    net and on what else the machine runs: with one other busy process on a 2-core machine, a 28x28
    DCGAN step took 153 ms on two threads and 145 ms on one (with OpenMP's default spinning waits,
    1.4 s on two: every op's barrier waits for a thread the OS has descheduled), while on a free
    machine two threads are the faster.

    So the loop times `probe` steps with each choice at the start, keeps the fastest, and checks
    again when steps get `slower` times slower than that (another program started) or after
    `every` seconds (one stopped). Checking costs a few steps at the slower setting, so it is rare."""

    def __init__(self, choices: list[int], probe: int = 2, every: float = 600.0, slower: float = 1.5):
        self.choices = sorted(set(choices))
        self.probe, self.every, self.slower = probe, every, slower
        self.best = self.choices[-1]
        self.best_seconds = float("inf")
        self._plan: list[tuple[int, bool]] = []  # (threads, timed?) of the steps left in the current check
        self._timed: dict[int, list[float]] = {}
        self._recent: list[float] = []
        self._clock = every  # seconds trained since the last check: the first steps make one
        self._now, self._time_it = self.best, False

    def threads(self) -> int:
        """The thread count to train the next step with."""
        if not self._plan and len(self.choices) > 1 and (self._clock >= self.every or self._slowed_down()):
            # each choice gets one untimed warm-up step (its thread pool waking up), then `probe` timed ones
            self._plan = [(n, timed) for n in self.choices for timed in [False] + [True] * self.probe]
            self._timed, self._recent, self._clock = {}, [], 0.0
        self._now, self._time_it = self._plan.pop(0) if self._plan else (self.best, False)
        return self._now

    def record(self, seconds: float) -> None:
        """How long the step trained with the last `threads()` took."""
        self._clock += seconds
        if not self._time_it:
            self._recent = (self._recent + [seconds])[-5:]
            return
        self._timed.setdefault(self._now, []).append(seconds)
        if not self._plan:  # the check is complete
            medians = {n: statistics.median(times) for n, times in self._timed.items()}
            self.best = min(medians, key=medians.get)
            self.best_seconds = medians[self.best]

    def _slowed_down(self) -> bool:
        return len(self._recent) == 5 and statistics.median(self._recent) > self.slower * self.best_seconds
