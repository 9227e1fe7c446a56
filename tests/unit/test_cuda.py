"""The CUDA path: every method on a GPU agrees with the CPU, reduced precision keeps its promise, the batch
is sized from free GPU memory, and a build runs end to end. Skipped where torch sees no CUDA device."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from test_methods import NAMES, _context, make  # tests/unit is on the path (pytest rootdir-less import)

from reportgen.cli import cli

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (torch sees none)")

# Methods that sample (LIME, KernelSHAP) draw their masks with the device's generator: they are checked to run
# and give finite scores, not to match the CPU.
SAMPLED = {"lime", "kernel_shap"}


@pytest.fixture(scope="module", params=["tiny_encoder", "tiny_classifier"])
def pair(request):
    model = request.getfixturevalue(request.param)
    cpu = _context(model)
    return cpu, _context(model, device="cuda", probe=cpu.adapter.probe)


@pytest.mark.parametrize("name", NAMES)
def test_every_method_runs_on_cuda_and_agrees_with_the_cpu(pair, name):
    cpu, gpu = pair
    assert gpu.adapter.device.type == "cuda" and gpu.targets == cpu.targets
    on_cpu, on_gpu = make(name).attribute(cpu), make(name).attribute(gpu)
    for a, b in zip(on_cpu, on_gpu):
        assert b.token_scores.shape == a.token_scores.shape and np.isfinite(b.token_scores).all()
        if name not in SAMPLED:
            np.testing.assert_allclose(b.token_scores, a.token_scores, atol=1e-3 * max(np.abs(a.token_scores).max(),
                                                                                         1e-6))


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_reduced_precision_on_cuda_keeps_only_what_passes_the_check(pair, precision):
    _, gpu = pair
    method = make("integrated_gradients", steps="auto")
    auto = gpu.config
    fp32 = method.attribute(replace(gpu, config=auto))
    reduced = method.attribute(replace(gpu, config=replace(auto, precision=precision)))
    for r, f in zip(reduced, fp32):
        if "recomputed_from" in r.info:
            assert r.info["precision"] == "fp32"
            # The same fp32 integral; on a GPU the recomputed examples share a padded batch with other examples
            # than in the fp32 run, which moves the last bits (7e-9 measured on an H100), nothing more.
            np.testing.assert_allclose(r.token_scores, f.token_scores, rtol=0,
                                       atol=1e-6 * max(np.abs(f.token_scores).max(), 1e-6))
        else:
            assert r.info["precision"] == precision and r.info["relative_delta"] <= method.options.tolerance


def test_batch_is_sized_from_free_gpu_memory(tiny_encoder):
    from reportgen.models import load_adapter
    from reportgen.models.memory import GPU_MAX_BATCH_TOKENS, auto_batch_tokens

    tokens = auto_batch_tokens(load_adapter(str(tiny_encoder), False, "cuda"))
    assert 4096 <= tokens <= GPU_MAX_BATCH_TOKENS and tokens & (tokens - 1) == 0  # a power of two


def test_build_on_cuda_in_bf16(tmp_path, tiny_encoder, tiny_examples):
    out = tmp_path / "site"
    result = CliRunner().invoke(cli, ["build", "--examples", str(tiny_examples), "--model", str(tiny_encoder),
                                      "--out", str(out), "--device", "cuda", "--precision", "bf16", "-q"])
    assert result.exit_code == 0, result.output
    bundle = json.loads((out / "data" / "results.json").read_text())
    assert bundle["model"]["device"].startswith("cuda")
    assert bundle["config"]["compute"]["batch_tokens"] >= 4096
    precision = bundle["summary"]["convergence"]["integrated_gradients"]["precision"]
    # Like every data-set figure, over the readable examples (the tiny set has one mostly-[UNK] text).
    assert precision["reduced"] == "bf16" and precision["n"] == bundle["summary"]["n_readable"]
    assert f"{precision['recomputed']} of" in (out / "methods.html").read_text()
