from __future__ import annotations

import pytest
import torch

from stockapp.errors import ModelError
from stockapp.models.device import available_devices, describe_device, resolve_device

no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")


def test_cpu_is_always_available_and_first():
    assert available_devices()[0] == "cpu"
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(" CPU ") == torch.device("cpu")


def test_describe_cpu_names_threads():
    assert describe_device("cpu") == f"CPU ({torch.get_num_threads()} threads)" or (
        torch.get_num_threads() == 1 and describe_device("cpu") == "CPU (1 thread)"
    )


@no_cuda
def test_auto_falls_back_to_an_available_device():
    assert resolve_device("auto").type in {"cpu", "mps"}
    assert "cuda" not in available_devices()


@no_cuda
@pytest.mark.parametrize("name", ["cuda", "cuda:0", "cuda:1"])
def test_absent_cuda_is_one_sentence(name):
    with pytest.raises(ModelError, match=r"^No CUDA GPU is available on this machine; choose"):
        resolve_device(name)


@pytest.mark.parametrize("name", ["tpu", "gpu", "", "cuda:x"])
def test_unknown_device_names_the_choices(name):
    with pytest.raises(ModelError, match="Unknown device .*choose 'auto', 'cpu', 'cuda' or 'mps'"):
        resolve_device(name)
