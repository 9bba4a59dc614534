import pytest
import torch

from gandash.device import cpu_threads, pick, resolve_device_type, settings_for
from gandash.errors import GandashError


@pytest.mark.parametrize("available, expected", [
    ({"cuda": True, "mps": True}, "cuda"),
    ({"cuda": False, "mps": True}, "mps"),
    ({"cuda": False, "mps": False}, "cpu"),
])
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


def test_cpu_settings_make_no_gpu_only_choices():
    cpu = settings_for("cpu", mixed_precision=True, bf16_supported=True, conv_net=True)
    assert (cpu.type, cpu.amp_dtype, cpu.channels_last, cpu.pin_memory) == ("cpu", None, False, False)
    assert pick("auto").type == ("cuda" if torch.cuda.is_available() else pick("auto").type)


@pytest.mark.parametrize("cores, jobs, small, expected", [(2, 1, False, 2), (2, 2, False, 1), (8, 3, False, 2),
                                                          (8, 1, True, 1), (1, 4, False, 1)])
def test_cpu_threads_never_oversubscribe_the_cores(cores, jobs, small, expected):
    assert cpu_threads(cores, jobs, small) == expected
