"""The one place that picks the device and what to do on it (AMP, channels_last, pinning)."""

from __future__ import annotations

import math
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


INFERENCE_PRECISIONS = ("auto", "fp32", "bf16")
PRECISION_ENV = "GANDASH_INFERENCE_PRECISION"  # fp32 | bf16 | auto: what restoring photos on the CPU uses


def faster_in_bf16(run, rounds: int = 2, margin: float = 0.85) -> bool:
    """Whether `run(bf16: bool)` (one forward pass of a net) is clearly faster under bf16 autocast on this
    CPU: each way once untimed, then timed in ABBA order, medians compared. bf16 wins only below `margin`
    of fp32's time: CPUs with bf16 units (AMX, AVX512-BF16) run convs ~1.5x faster, those without emulate
    it and run slower, and near a tie fp32's exactness is worth more."""
    import time

    run(False)
    run(True)
    times: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(rounds):
        for bf16 in (False, True, True, False):
            started = time.perf_counter()
            run(bf16)
            times[bf16].append(time.perf_counter() - started)
    return statistics.median(times[True]) < margin * statistics.median(times[False])


def inference_precision(requested: str | None = None) -> str:
    """fp32, bf16 or auto (time both: faster_in_bf16) for restoring photos: `requested`, else the
    GANDASH_INFERENCE_PRECISION environment variable, else auto."""
    import os

    choice = requested or os.environ.get(PRECISION_ENV, "") or "auto"
    if choice not in INFERENCE_PRECISIONS:
        raise GandashError(f"precision '{choice}' is unknown; choose one of {', '.join(INFERENCE_PRECISIONS)}.")
    return choice


@dataclass(frozen=True)
class SpeedSetting:
    """How a CPU run trains its steps: intra-op threads, and fp32 or bf16 autocast."""

    threads: int
    bf16: bool = False

    def __str__(self) -> str:
        return f"{'bf16' if self.bf16 else 'fp32'} on {self.threads} thread{'s' if self.threads > 1 else ''}"


class SpeedTuner:
    """Keeps the fastest of a few CPU settings (threads x precision) while a run trains, by timing them.

    Which is fastest depends on the CPU and on what else the machine runs. bf16 autocast is ~1.8x faster
    on CPUs with bf16 matrix units (AMX: a 28x28 DCGAN step 52 -> 30 ms) and slower where bf16 is
    emulated; two threads win on a free 2-core machine and lose to one beside another busy process.
    So the loop trains a few steps with each setting, keeps the fastest, and checks again.

    Noise is what makes a check go wrong: one busy moment during the probe could pin the slower setting
    for the rest of a run. Hence: each setting is timed in two blocks in ABBA order (a load that comes or
    goes during the check weighs on both), each block after an untimed warm-up step (thread pools waking
    up), the median of `probe` x 2 steps decides; a re-check comes when the steps' speed moves by
    `moved` either way, and in any case after `first_recheck` seconds, then at doubling intervals up to
    `every` while the choice stays the same (a wrong choice is found within a minute; a right one costs
    little). Precision is chosen at the first check only, because it changes the arithmetic; later
    checks re-time the thread counts in that precision."""

    def __init__(
        self,
        choices: list[SpeedSetting],
        probe: int = 3,
        first_recheck: float = 30.0,
        every: float = 600.0,
        moved: float = 0.3,
    ):
        self.choices = sorted(set(choices), key=lambda s: (s.bf16, s.threads))
        self.probe, self.first_recheck, self.every, self.moved = probe, first_recheck, every, moved
        self.best = self.choices[-1]
        self.best_seconds = float("inf")
        self.last_check: dict[SpeedSetting, float] = {}  # median seconds a step of each setting took
        self.checks = 0
        self.choice_changed = False  # whether the last check ended with another choice (or was the first)
        self._plan: list[tuple[SpeedSetting, bool]] = []  # (setting, timed?) of the steps left in a check
        self._timed: dict[SpeedSetting, list[float]] = {}
        self._recent: list[float] = []
        self._interval = self._clock = 0.0  # the first steps make a check
        self._now, self._time_it, self._probing = self.best, False, False

    def _candidates(self) -> list[SpeedSetting]:
        if not self.checks:
            return self.choices
        return [s for s in self.choices if s.bf16 == self.best.bf16]

    def next_setting(self) -> SpeedSetting:
        """The setting to train the next step with."""
        candidates = self._candidates()
        if not self._plan and len(candidates) > 1 and (self._clock >= self._interval or self._speed_moved()):
            order = candidates + candidates[::-1]
            self._plan = [(s, timed) for s in order for timed in [False] + [True] * self.probe]
            self._timed, self._recent, self._clock = {}, [], 0.0
        self._probing = bool(self._plan)
        self._now, self._time_it = self._plan.pop(0) if self._plan else (self.best, False)
        return self._now

    def record(self, seconds: float) -> bool:
        """How long the step trained with the last `next_setting()` took; True when that ended a check."""
        self._clock += seconds
        if not self._probing:
            self._recent = (self._recent + [seconds])[-9:]
        if not self._time_it:
            return False
        self._timed.setdefault(self._now, []).append(seconds)
        if self._plan:
            return False
        self.last_check = {s: statistics.median(times) for s, times in self._timed.items()}
        previous, self.best = self.best, min(self.last_check, key=self.last_check.get)
        self.best_seconds = self.last_check[self.best]
        self.choice_changed = not self.checks or self.best != previous
        self._interval = self.first_recheck if self.choice_changed else min(self._interval * 2, self.every)
        self.checks += 1
        return True

    def describe_check(self) -> str:
        """The last check's timings, fastest first, for the run's events."""
        ranked = sorted(self.last_check.items(), key=lambda item: item[1])
        return ", ".join(f"{setting} {seconds * 1000:.0f} ms" for setting, seconds in ranked)

    def _speed_moved(self) -> bool:
        if len(self._recent) < 9 or not math.isfinite(self.best_seconds):
            return False
        return abs(statistics.median(self._recent) / self.best_seconds - 1) > self.moved
