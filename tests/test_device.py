import pytest
import torch

from gandash.core.device import cpu_threads, pick, resolve_device_type, settings_for
from gandash.core.errors import GandashError


@pytest.mark.parametrize(
    "available, expected",
    [
        ({"cuda": True, "mps": True}, "cuda"),
        ({"cuda": False, "mps": True}, "mps"),
        ({"cuda": False, "mps": False}, "cpu"),
    ],
)
def test_auto_prefers_cuda_then_mps_then_cpu(available, expected):
    assert resolve_device_type("auto", available) == expected


def test_explicit_devices():
    assert resolve_device_type("cpu", {"cuda": True, "mps": False}) == "cpu"
    assert resolve_device_type("cuda", {"cuda": True, "mps": False}) == "cuda"
    with pytest.raises(GandashError, match="none is visible"):
        resolve_device_type("cuda", {"cuda": False, "mps": False})
    with pytest.raises(GandashError, match="unknown"):
        resolve_device_type("gpu0", {"cuda": True})


def test_cuda_settings_use_bf16_where_supported_else_fp16_channels_last_and_pinning():
    bf16 = settings_for("cuda", mixed_precision=True, bf16_supported=True, conv_net=True)
    assert (bf16.amp_dtype, bf16.channels_last, bf16.pin_memory) == (torch.bfloat16, True, True)
    fp16 = settings_for("cuda", mixed_precision=True, bf16_supported=False, conv_net=False)
    assert (fp16.amp_dtype, fp16.channels_last) == (torch.float16, False)
    assert settings_for("cuda", mixed_precision=False, bf16_supported=True, conv_net=True).amp_dtype is None


def test_cpu_settings_make_no_gpu_only_choices_and_lay_conv_nets_out_channels_last():
    cpu = settings_for("cpu", mixed_precision=True, bf16_supported=True, conv_net=True)
    assert (cpu.type, cpu.amp_dtype, cpu.channels_last, cpu.pin_memory) == ("cpu", None, True, False)
    assert not settings_for("cpu", mixed_precision=True, bf16_supported=False, conv_net=False).channels_last
    assert not settings_for("mps", mixed_precision=True, bf16_supported=False, conv_net=True).channels_last
    assert pick("auto").type == ("cuda" if torch.cuda.is_available() else pick("auto").type)


@pytest.mark.parametrize(
    "cores, jobs, small, expected",
    [(2, 1, False, 2), (2, 2, False, 1), (8, 3, False, 2), (8, 1, True, 1), (1, 4, False, 1)],
)
def test_cpu_threads_never_oversubscribe_the_cores(cores, jobs, small, expected):
    assert cpu_threads(cores, jobs, small) == expected


def _run(tuner, seconds_for, steps=40):
    """Drive the tuner as the training loop does, with steps that take seconds_for(step, threads)."""
    used = []
    for step in range(steps):
        n = tuner.threads()
        used.append(n)
        tuner.record(seconds_for(step, n))
    return used


def test_the_thread_tuner_keeps_the_faster_choice():
    from gandash.core.device import ThreadTuner

    # a busy machine where two threads wait on each other (1.4 s vs 0.15 s per step with spinning waits)
    tuner = ThreadTuner([1, 2], probe=2)
    used = _run(tuner, lambda step, n: {1: 0.15, 2: 1.4}[n])
    assert used[:6] == [1, 1, 1, 2, 2, 2]  # a warm-up and 2 timed steps each
    assert tuner.best == 1 and set(used[6:]) == {1}
    # a free machine: two threads win and are kept
    tuner = ThreadTuner([1, 2], probe=2)
    assert set(_run(tuner, lambda step, n: {1: 0.3, 2: 0.2}[n])[6:]) == {2}


def test_the_thread_tuner_checks_again_when_steps_slow_down_or_after_a_while():
    from gandash.core.device import ThreadTuner

    # free at first (2 threads win), then another program starts at step 20 and two threads crawl
    tuner = ThreadTuner([1, 2], probe=2, every=1e9)
    used = _run(tuner, lambda step, n: {1: 0.3, 2: 0.2 if step < 20 else 1.4}[n])
    assert used[6:20] == [2] * 14 and tuner.best == 1 and used[-5:] == [1] * 5
    # the other way round: busy, then free; only the periodic check can notice (steps got faster)
    tuner = ThreadTuner([1, 2], probe=2, every=10.0)
    used = _run(tuner, lambda step, n: {1: 0.3, 2: 1.4 if step < 20 else 0.2}[n], steps=60)
    assert used[6:20] == [1] * 14 and tuner.best == 2 and used[-5:] == [2] * 5


def test_a_single_choice_never_probes():
    from gandash.core.device import ThreadTuner

    tuner = ThreadTuner([2, 2])
    assert _run(tuner, lambda step, n: 0.1) == [2] * 40
