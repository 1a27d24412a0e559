"""Devices: auto | cpu | cuda[:N] | mps, with the speed settings each supports."""

from __future__ import annotations

import contextlib

import torch

from avstudio.core.errors import UserError


def resolve_device(spec: str = "auto") -> torch.device:
    spec = (spec or "auto").strip().lower()
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UserError(f"Device {spec} was asked for, but this PyTorch has no CUDA GPU available "
                            f"(torch {torch.__version__}). Use --device cpu, or install the CUDA build (see README).")
        index = int(spec.split(":", 1)[1]) if ":" in spec else 0
        if index >= torch.cuda.device_count():
            raise UserError(f"There is no GPU {index}: this machine has {torch.cuda.device_count()}.")
        return torch.device("cuda", index)
    if spec == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise UserError("Apple's MPS device is not available on this machine.")
        return torch.device("mps")
    raise UserError(f"Unknown device {spec!r}: use auto, cpu, cuda, cuda:N or mps.")


def autocast(device: torch.device, enabled: bool = True):
    """bf16 autocast on CUDA (no loss scaling needed); a no-op elsewhere."""
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def prepare_module(module: torch.nn.Module, device: torch.device, speedups: bool = True) -> torch.nn.Module:
    """On the device; on CUDA in channels_last with cuDNN autotuning (``speedups=False``: neither, the
    plain fp32 baseline the benchmarks compare with)."""
    module = module.to(device)
    if device.type == "cuda" and speedups:
        module = module.to(memory_format=torch.channels_last)
        torch.backends.cudnn.benchmark = True
    return module


def to_device(x: torch.Tensor, device: torch.device, speedups: bool = True) -> torch.Tensor:
    x = x.to(device, non_blocking=True)
    if device.type == "cuda" and x.dim() == 4 and speedups:
        x = x.contiguous(memory_format=torch.channels_last)
    return x
