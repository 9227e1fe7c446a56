"""How many tokens go in one forward/backward batch: fixed on a CPU, measured against free memory on a GPU."""

from __future__ import annotations

import dataclasses
import logging

import torch

from reportgen.config import BuildConfig
from reportgen.models.adapter import ModelAdapter

log = logging.getLogger(__name__)

CPU_BATCH_TOKENS = 4096  # about the fastest on a CPU: larger batches only cost memory there
GPU_MEMORY_SHARE = 0.5  # of the free memory at build start: the rest is headroom (eager attention, fragmentation)
GPU_MAX_BATCH_TOKENS = 1 << 17  # beyond this a batch is no faster, only a longer wait per progress update
PROBE_LENGTH = 128  # the calibration pass: tokens per row


def auto_batch_tokens(adapter: ModelAdapter) -> int:
    """On CUDA: one forward+backward of PROBE_LENGTH x rows tokens measures the bytes a token costs, and the
    batch is what GPU_MEMORY_SHARE of the free memory holds (a power of two, so reruns give the same batches)."""
    if adapter.device.type != "cuda":
        return CPU_BATCH_TOKENS
    device = adapter.device
    torch.cuda.synchronize(device)
    free, _ = torch.cuda.mem_get_info(device)
    rows = CPU_BATCH_TOKENS // PROBE_LENGTH
    length = min(PROBE_LENGTH, int(adapter.details.max_length))
    torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_allocated(device)
    ids = torch.full((rows, length), adapter.tokenizer.unk_token_id or 0, dtype=torch.long, device=device)
    mask = torch.ones_like(ids)
    x = adapter.embed(ids).detach().requires_grad_(True)
    out = adapter.model(inputs_embeds=x, attention_mask=mask)
    (grad,) = torch.autograd.grad(out[0].float().sum(), x)
    del out, grad, x
    torch.cuda.synchronize(device)
    per_token = max(1, (torch.cuda.max_memory_allocated(device) - before) / (rows * length))
    torch.cuda.empty_cache()
    fits = int(free * GPU_MEMORY_SHARE / per_token)
    tokens = 1 << max(12, min(fits, GPU_MAX_BATCH_TOKENS).bit_length() - 1)
    log.info("batch: %d tokens (%.0f KB per token measured, %.1f GB free on %s)", tokens, per_token / 1024,
             free / 1e9, torch.cuda.get_device_name(device))
    return tokens


def with_batch_tokens(cfg: BuildConfig, adapter: ModelAdapter) -> BuildConfig:
    """The config with batch_tokens "auto" resolved for this model and device (the site records the number)."""
    if cfg.compute.batch_tokens != "auto":
        return cfg
    return dataclasses.replace(cfg, compute=dataclasses.replace(cfg.compute, batch_tokens=auto_batch_tokens(adapter)))
