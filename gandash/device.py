"""The one place that picks the device and what to do on it (AMP, channels_last, pinning)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gandash.errors import GandashError

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
    (else fp16 with a grad scaler), channels_last for conv nets and pinned host memory."""
    if device_type == "cuda":
        amp = (torch.bfloat16 if bf16_supported else torch.float16) if mixed_precision else None
        return DeviceSettings(torch.device("cuda"), amp, channels_last=conv_net, pin_memory=True)
    return DeviceSettings(torch.device(device_type), None, channels_last=False, pin_memory=False)


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
