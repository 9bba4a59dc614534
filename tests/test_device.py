import pytest
import torch

from gandash.core.device import (
    PRECISION_ENV,
    SpeedSetting,
    SpeedTuner,
    cpu_threads,
    faster_in_bf16,
    inference_precision,
    pick,
    resolve_device_type,
    settings_for,
)
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


ONE, TWO = SpeedSetting(1), SpeedSetting(2)
ONE_BF16, TWO_BF16 = SpeedSetting(1, bf16=True), SpeedSetting(2, bf16=True)


def _run(tuner, seconds_for, steps=None, minutes=None):
    """Drive the tuner as the training loop does, with steps that take seconds_for(clock, setting) seconds,
    for `steps` steps or `minutes` of simulated training. Returns [(clock, setting)] of every step."""
    used, clock = [], 0.0
    while (steps is None or len(used) < steps) and (minutes is None or clock < minutes * 60):
        setting = tuner.next_setting()
        used.append((clock, setting))
        seconds = seconds_for(clock, setting)
        tuner.record(seconds)
        clock += seconds
    return used


def _settings(used):
    return [setting for _, setting in used]


def test_the_tuner_keeps_the_faster_choice_after_timing_each_in_abba_order():
    # a busy machine where two threads wait on each other (1.4 s vs 0.15 s per step with spinning waits)
    tuner = SpeedTuner([ONE, TWO], probe=2)
    used = _settings(_run(tuner, lambda clock, s: {ONE: 0.15, TWO: 1.4}[s], steps=40))
    assert used[:12] == [ONE] * 3 + [TWO] * 6 + [ONE] * 3  # a warm-up and 2 timed steps per block, A B B A
    assert tuner.best == ONE and set(used[12:]) == {ONE}
    # a free machine: two threads win and are kept
    tuner = SpeedTuner([ONE, TWO], probe=2)
    assert set(_settings(_run(tuner, lambda clock, s: {ONE: 0.3, TWO: 0.2}[s], steps=40))[12:]) == {TWO}


def test_bf16_is_chosen_where_it_is_faster_and_fp32_where_it_is_emulated():
    amx = {ONE: 0.085, TWO: 0.052, ONE_BF16: 0.047, TWO_BF16: 0.030}  # measured on a Xeon with AMX
    tuner = SpeedTuner([ONE, TWO, ONE_BF16, TWO_BF16])
    used = _settings(_run(tuner, lambda clock, s: amx[s], minutes=2))
    assert tuner.best == TWO_BF16 and used[-1] == TWO_BF16
    no_bf16_units = {ONE: 0.085, TWO: 0.052, ONE_BF16: 0.160, TWO_BF16: 0.110}
    tuner = SpeedTuner([ONE, TWO, ONE_BF16, TWO_BF16])
    used = _settings(_run(tuner, lambda clock, s: no_bf16_units[s], minutes=2))
    assert tuner.best == TWO and used[-1] == TWO
    # the precision is chosen once: later checks re-time the threads only, never switching the arithmetic
    assert all(not s.bf16 for s in used[32:])


def test_a_probe_made_slow_by_a_busy_moment_does_not_pin_the_slower_setting():
    """Another program is busy for the first 8 seconds of the run, while the first check times two
    threads; afterwards the machine is free and two threads are 1.7x faster. The slower choice must
    not be kept for the rest of a 10-minute run."""

    def seconds(clock, s):
        busy = clock < 8.0
        return {ONE: 0.088, TWO: 0.9 if busy else 0.052}[s]

    tuner = SpeedTuner([ONE, TWO])
    used = _run(tuner, seconds, minutes=10)
    assert tuner.checks >= 2 and tuner.best == TWO
    after_a_minute = [s for clock, s in used if clock > 60]
    assert after_a_minute.count(TWO) / len(after_a_minute) > 0.95
    trained = sum(seconds(clock, s) for clock, s in used)
    assert len(used) > 0.9 * trained / 0.052  # within 10% of the steps the fast setting alone would train


def test_the_tuner_checks_again_when_steps_slow_down_or_speed_up():
    # free at first (2 threads win), then another program starts at 20 s and two threads crawl
    tuner = SpeedTuner([ONE, TWO], probe=2, first_recheck=1e9, every=1e9)
    used = _run(tuner, lambda clock, s: {ONE: 0.3, TWO: 0.2 if clock < 20 else 1.4}[s], minutes=2)
    assert tuner.best == ONE and _settings(used)[-5:] == [ONE] * 5
    # busy, then free: the best one's steps get faster, and the check that follows finds the new best
    tuner = SpeedTuner([ONE, TWO], probe=2, first_recheck=1e9, every=1e9)
    busy_then_free = {ONE: (0.3, 0.15), TWO: (1.4, 0.1)}
    used = _run(tuner, lambda clock, s: busy_then_free[s][clock >= 20], minutes=2)
    assert tuner.best == TWO and _settings(used)[-5:] == [TWO] * 5


def test_checks_grow_rare_while_the_choice_holds():
    tuner = SpeedTuner([ONE, TWO], first_recheck=30, every=600)
    _run(tuner, lambda clock, s: {ONE: 0.09, TWO: 0.05}[s], minutes=20)
    assert 4 <= tuner.checks <= 8  # 0, 30, 90, 210, 450, 1050 s: not one every 30 s (40)


def test_a_single_choice_never_probes():
    tuner = SpeedTuner([TWO, TWO])
    assert _settings(_run(tuner, lambda clock, s: 0.1, steps=40)) == [TWO] * 40


@pytest.mark.parametrize("bf16_seconds, expected", [(0.002, True), (0.03, False)])
def test_bf16_is_chosen_for_inference_only_where_it_is_clearly_faster(bf16_seconds, expected):
    import time

    calls = []

    def run(bf16: bool) -> None:
        calls.append(bf16)
        time.sleep(bf16_seconds if bf16 else 0.015)

    assert faster_in_bf16(run) is expected
    assert calls.count(True) == calls.count(False) == 5  # one untimed each, then ABBA twice


def test_the_inference_precision_is_what_was_asked_then_the_environment_then_auto(monkeypatch):
    monkeypatch.delenv(PRECISION_ENV, raising=False)
    assert inference_precision() == "auto"
    monkeypatch.setenv(PRECISION_ENV, "fp32")
    assert inference_precision() == "fp32"
    assert inference_precision("bf16") == "bf16"
    with pytest.raises(GandashError, match="precision 'fp16' is unknown"):
        inference_precision("fp16")
