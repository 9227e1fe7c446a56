"""Table-driven invariants: a new method joins every test here by adding one row."""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import pytest
import torch

from reportgen.compute.encode import encode_examples
from reportgen.compute.forward import shared_forward
from reportgen.compute.methods import METHODS, MethodContext
from reportgen.compute.methods.base import padded_batch
from reportgen.compute.methods.integrated_gradients import gauss_legendre
from reportgen.config import ComputeConfig
from reportgen.models import load_adapter
from reportgen.models.probe import fit_linear
from reportgen.types import Example


class _Quiet:
    def update(self, n: int = 1) -> None: ...
    def close(self) -> None: ...


TEXTS = [("the film was very good", None), ("boring plot and bad acting", None), ("a great movie", None),
         ("hated this film", None), ("a man plays in the park", "a man is playing"), ("the kid", None)]

# Every registered method joins each test below through its declaration (no list of names to extend).
NAMES = METHODS.names()
COMPLETE = [n for n in NAMES if METHODS.get(n).completeness is not None]
# Fewer samples than the defaults, so the sampled methods run in a second here.
FAST = {"lime": {"samples": 60}, "kernel_shap": {"samples": 60}, "smoothgrad": {"samples": 8}}


def make(name, **options):
    """The method with these options (FAST's for the sampled ones, the defaults for the rest)."""
    return METHODS.get(name)({**FAST.get(name, {}), **options})


def _context(model_dir, config=None, device="cpu", probe=None):
    """Methods' context on the six TEXTS; a bare encoder gets a probe fitted on their pooled features (or the
    given one, so contexts on two devices explain the same function)."""
    adapter = load_adapter(str(model_dir), False, device)
    examples = [Example(id=str(i), text=t, text_pair=p) for i, (t, p) in enumerate(TEXTS)]
    encoded = encode_examples(adapter.tokenizer, examples, 64)
    cfg = config or ComputeConfig(batch_tokens=4096)
    shared = shared_forward(adapter, encoded, cfg, lambda d, n: _Quiet())
    pooled, logits, attentions = shared.pooled, shared.logits, shared.attentions
    if not adapter.head.own:
        labels = ["neg", "pos"]
        # a copy: Module.to() moves in place, and the given probe stays on its own context's device
        probe = copy.deepcopy(probe) if probe is not None else \
            fit_linear(pooled.astype(np.float64), np.array([1, 0, 1, 0, 1, 0]), 2, 0)
        adapter = adapter.with_labels(labels)  # what the pipeline does: the probe's classes, then a probe per fold
        adapter.probe = probe.to(adapter.device)
        with torch.no_grad():
            logits = adapter.probe(torch.from_numpy(pooled).to(adapter.device)).cpu().numpy()
    targets = [int(v) for v in logits.argmax(1)]
    return MethodContext(adapter, encoded, targets, [float(logits[i, t]) for i, t in enumerate(targets)],
                         attentions, cfg, lambda d, n: _Quiet())


@pytest.fixture(scope="module", params=["tiny_encoder", "tiny_classifier"])
def ctx(request):
    return _context(request.getfixturevalue(request.param))


@pytest.mark.parametrize("name", NAMES)
def test_scores_align_with_tokens_and_are_finite(ctx, name):
    outputs = make(name).attribute(ctx)
    assert len(outputs) == len(ctx.encoded)
    for out, enc in zip(outputs, ctx.encoded):
        assert out.token_scores.shape == (enc.length,)
        assert np.isfinite(out.token_scores).all()
        assert np.abs(out.token_scores).sum() > 0
        if not METHODS.get(name).signed:
            assert (out.token_scores >= 0).all()


@pytest.mark.parametrize("name", NAMES)
def test_deterministic(ctx, name):
    first = make(name).attribute(replace(ctx))  # fresh contexts: nothing shared between the runs
    second = make(name).attribute(replace(ctx))
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a.token_scores, b.token_scores)


@pytest.mark.parametrize("name", NAMES)
def test_declares_what_pages_need(name):
    method = METHODS.get(name)
    assert method.name == name and method.title and method.summary and method.description
    assert method.family in {"gradient", "attention", "perturbation", "decomposition", "reference"}
    assert isinstance(method.signed, bool) and isinstance(method.lead, int)
    assert method.approximates is None or method.approximates in NAMES
    assert method.declaration().name == name


def test_completeness_is_declared_where_scores_add_up():
    assert "integrated_gradients" in COMPLETE and "noise_tunnel_ig" in COMPLETE  # a path integral, both


@pytest.mark.parametrize("name", COMPLETE)
def test_completeness_within_threshold(ctx, name):
    for out in make(name).attribute(ctx):
        info = out.info
        # f_end: f at the end of the path the method integrates (the input, or the noisy copies' mean)
        assert abs(out.token_scores.sum() - (info["f_end"] - info["f_baseline"]) - info["delta"]) < 1e-5
        assert info["relative_delta"] < 0.05 and info["steps"] > 0 and info["rule"]


def test_batch_size_does_not_change_integrated_gradients(ctx):
    small = replace(ctx, config=replace(ctx.config, batch_tokens=40))  # forces step slices and single rows
    method = make("integrated_gradients")
    for a, b in zip(method.attribute(ctx), method.attribute(small)):
        np.testing.assert_allclose(a.token_scores, b.token_scores, atol=1e-5)


@pytest.mark.parametrize("name,options", [("integrated_gradients", {"steps": 50}),
                                          ("integrated_gradients", {"steps": "auto"}),
                                          ("noise_tunnel_ig", {})])
def test_padded_path_batches_give_the_equal_length_scores(ctx, monkeypatch, name, options):
    """What a GPU does (examples of different lengths padded into one path batch), checked on the CPU."""
    from reportgen.compute.methods import base, integrated_gradients, noise_tunnel_ig

    method = make(name, **options)
    rows = 50 if name == "integrated_gradients" else method.options.samples * 16
    mixed = list(base.path_batches(ctx.encoded, range(len(ctx.encoded)), rows, ctx.config.batch_tokens, pad=True))
    assert any(len({ctx.encoded[i].length for i in batch}) > 1 for batch in mixed)  # the case under test occurs
    exact = method.attribute(replace(ctx))
    for module in (integrated_gradients, noise_tunnel_ig):
        monkeypatch.setattr(module, "pads_across_lengths", lambda device: True)
    padded = method.attribute(replace(ctx))
    for e, p, ex in zip(exact, padded, ctx.encoded):
        assert p.token_scores.shape == (ex.length,)
        np.testing.assert_allclose(p.token_scores, e.token_scores, atol=1e-4 * np.abs(e.token_scores).max())
        assert abs(p.info["delta"] - e.info["delta"]) < 1e-4 * abs(e.info["f_end"]) + 1e-5
        assert p.info.get("steps") == e.info.get("steps")


def test_integrated_gradients_match_captum(ctx):
    from captum.attr import LayerIntegratedGradients

    adapter = ctx.adapter

    def forward(ids, types):
        embeddings = adapter.embed(ids)
        mask = torch.ones_like(ids)
        return adapter.logits_from_embeddings(embeddings, mask, types)

    lig = LayerIntegratedGradients(forward, adapter.model.get_input_embeddings())
    ours = make("integrated_gradients").attribute(ctx)
    for enc, target, out in zip(ctx.encoded, ctx.targets, ours):
        ids = torch.tensor([enc.input_ids])
        types = torch.tensor([enc.token_type_ids])
        special = torch.tensor([enc.special_mask])
        baseline = torch.where(special, ids, torch.zeros_like(ids))
        attr, delta = lig.attribute(ids, baselines=baseline, additional_forward_args=(types,), target=target,
                                    n_steps=50, return_convergence_delta=True)
        np.testing.assert_allclose(out.token_scores, attr.sum(-1)[0].detach().numpy(), atol=1e-5)
        assert abs(out.info["delta"] - float(delta)) < 1e-4


def test_gauss_legendre_is_captums_rule():
    from captum.attr._utils.approximation_methods import approximation_parameters

    step_sizes, alphas = approximation_parameters("gausslegendre")
    nodes, weights = gauss_legendre(50)
    np.testing.assert_allclose(nodes, alphas(50), atol=1e-12)
    np.testing.assert_allclose(weights, step_sizes(50), atol=1e-12)
    assert abs(sum(weights) - 1) < 1e-12


def _one_gradient(ctx, i):
    """The target logit's gradient for example i, by plain autograd on one unbatched example."""
    adapter, enc = ctx.adapter, ctx.encoded[i]
    ids = torch.tensor([enc.input_ids])
    x = adapter.embed(ids).detach().requires_grad_(True)
    logits = adapter.logits_from_embeddings(x, torch.ones_like(ids), torch.tensor([enc.token_type_ids]))
    (grad,) = torch.autograd.grad(logits[0, ctx.targets[i]], x)
    return grad[0], x[0].detach()


def test_gradient_x_input_is_gradient_times_embedding(ctx):
    out = make("gradient_x_input").attribute(ctx)
    grad, x = _one_gradient(ctx, 0)
    np.testing.assert_allclose(out[0].token_scores, (grad * x).sum(-1).numpy(), atol=1e-6)


def test_saliency_is_the_gradient_norm(ctx):
    out = make("saliency").attribute(ctx)
    grad, _ = _one_gradient(ctx, 1)
    np.testing.assert_allclose(out[1].token_scores, grad.norm(dim=-1).numpy(), atol=1e-6)


def test_occlusion_word_scores_are_exact_drops(ctx):
    adapter = ctx.adapter
    out = make("occlusion").attribute(ctx)
    enc, target = ctx.encoded[0], ctx.targets[0]
    word = 1
    ids = torch.tensor([enc.input_ids])
    masked = ids.clone()
    masked[0, torch.tensor(enc.word_index) == word] = adapter.tokenizer.mask_token_id
    with torch.no_grad():
        full = adapter.logits_from_embeddings(adapter.embed(ids), torch.ones_like(ids),
                                              torch.tensor([enc.token_type_ids]))[0, target]
        drop = full - adapter.logits_from_embeddings(adapter.embed(masked), torch.ones_like(ids),
                                                     torch.tensor([enc.token_type_ids]))[0, target]
    word_score = sum(s for s, w in zip(out[0].token_scores, enc.word_index) if w == word)
    assert abs(word_score - float(drop)) < 1e-4


def test_random_reference_ignores_special_tokens_and_is_seeded(ctx):
    out = make("random").attribute(ctx)
    for o, enc in zip(out, ctx.encoded):
        assert (o.token_scores[np.array(enc.special_mask)] == 0).all()
    other = make("random").attribute(replace(ctx, config=replace(ctx.config, seed=1)))
    assert not np.array_equal(out[0].token_scores, other[0].token_scores)


def test_raw_attention_reads_the_last_layer(ctx):
    out = make("attention_raw").attribute(ctx)
    last = ctx.attentions[0][-1].astype(np.float32).mean(axis=0)
    expected = last[0] if ctx.adapter.head.own else last.mean(axis=0)
    np.testing.assert_allclose(out[0].token_scores, expected, atol=1e-6)
    assert abs(out[0].token_scores.sum() - 1.0) < 1e-3  # a distribution over keys


def test_clenshaw_curtis_is_nested_and_exact_on_polynomials():
    from reportgen.compute.methods.integrated_gradients import clenshaw_curtis

    for n in (16, 32, 64):
        nodes, weights = clenshaw_curtis(n)
        assert len(nodes) == n + 1 and nodes[0] == 0 and abs(nodes[-1] - 1) < 1e-15
        assert abs(sum(weights) - 1) < 1e-12
        for degree in range(0, n, 3):  # exact up to degree n on [0, 1]
            assert abs(np.dot(weights, np.array(nodes) ** degree) - 1 / (degree + 1)) < 1e-12
        coarse, _ = clenshaw_curtis(n // 2)
        np.testing.assert_allclose(coarse, nodes[::2], atol=1e-15)


def test_adaptive_integrated_gradients(ctx):
    fixed = make("integrated_gradients", steps=50).attribute(replace(ctx))
    adaptive = make("integrated_gradients", steps="auto").attribute(replace(ctx))
    for a, f in zip(adaptive, fixed):
        assert a.info["converged"] and a.info["relative_delta"] <= 0.01
        assert a.info["steps"] in (17, 33, 65, 129) and a.info["rule"].startswith("clenshaw-curtis")
        np.testing.assert_allclose(a.token_scores, f.token_scores, atol=2e-2 * np.abs(f.token_scores).max())
    strict = make("integrated_gradients", steps="auto", tolerance=1e-12).attribute(replace(ctx))
    assert all(o.info["steps"] == 129 and not o.info["converged"] for o in strict)


def test_sanity_check_randomises_cascading_and_restores_the_model(ctx):
    from reportgen.compute.sanity import sanity_check

    methods = [make(n) for n in ("integrated_gradients", "attention_raw", "random")]
    before = {m.name: [o.token_scores for o in m.attribute(ctx)] for m in methods}
    result = sanity_check(ctx.adapter, methods, ctx.encoded, [0, 1, 2, 3], ctx.targets, before, ctx,
                          lambda d, n: _Quiet())
    assert result["layers"] == len(ctx.adapter.blocks()) == 2
    assert set(result["methods"]) == {"integrated_gradients", "attention_raw"}  # never the random reference
    for entry in result["methods"].values():
        assert len(entry["curve"]) == 2 and all(v is None or -1 <= v <= 1 for v in entry["curve"])
        if entry["curve"][-1] is None:
            assert entry["passes"] is None
        else:
            assert entry["passes"] == (entry["curve"][-1] < result["threshold"])
    after = make("integrated_gradients").attribute(ctx)
    for a, b in zip(after, before["integrated_gradients"]):
        np.testing.assert_array_equal(a.token_scores, b)  # the weights are back


def test_gradient_methods_share_one_backward_pass(ctx):
    fresh = replace(ctx)
    calls = []
    fresh.progress = lambda description, total: calls.append(description) or _Quiet()
    make("gradient_x_input").attribute(fresh)
    make("saliency").attribute(fresh)
    assert calls == ["Input gradients"]
    assert not replace(fresh).shared  # a changed context never sees another's gradients


def test_huge_gradients_stay_finite(tiny_encoder):
    """A randomised model in the sanity check can give gradients beyond 1e20: saliency's squared norm and the
    gradient-weighted attention product over layers must not overflow float32 into inf."""
    ctx = _context(tiny_encoder)
    with torch.no_grad():
        ctx.adapter.probe.linear.weight.mul_(1e25)
        ctx.adapter.probe.linear.bias.mul_(1e25)
    try:
        for name in ("saliency", "attention_gradient"):
            for out in make(name).attribute(replace(ctx)):
                assert np.isfinite(out.token_scores).all() and out.token_scores.max() > 0, name
        rescaled = [o.info.get("rescaled_by") for o in make("attention_gradient").attribute(replace(ctx))]
        assert any(rescaled)  # said, not hidden
    finally:
        with torch.no_grad():
            ctx.adapter.probe.linear.weight.div_(1e25)
            ctx.adapter.probe.linear.bias.div_(1e25)


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_reduced_precision_integrated_gradients_recomputes_failed_checks_in_fp32(ctx, precision):
    method = make("integrated_gradients", steps="auto")
    auto = ctx.config
    full = method.attribute(replace(ctx, config=auto))
    assert all("precision" not in o.info for o in full)  # fp32 builds say nothing about precision
    # A tolerance that reduced precision cannot meet: every example is computed again, and exactly as in fp32.
    strict = make("integrated_gradients", steps="auto", tolerance=1e-9)
    redone = strict.attribute(replace(ctx, config=replace(auto, precision=precision)))
    reference = strict.attribute(replace(ctx, config=auto))
    for r, f in zip(redone, reference):
        assert r.info["precision"] == "fp32" and r.info["recomputed_from"] == precision
        np.testing.assert_array_equal(r.token_scores, f.token_scores)
    # The default tolerance (1%): what passes in reduced precision is kept, near the fp32 scores; the rest is
    # fp32's. The random head's logit gaps f(x) - f(baseline) are ~1e-4, below what bf16/fp16 logits resolve,
    # so there every example is recomputed; the random encoder's probe gaps are ~1 and most pass.
    loose = method.attribute(replace(ctx, config=replace(auto, precision=precision)))
    kept = [k for k, o in enumerate(loose) if "recomputed_from" not in o.info]
    assert bool(kept) == (not ctx.adapter.head.own)
    for k, (o, f) in enumerate(zip(loose, full)):
        if k in kept:
            assert o.info["precision"] == precision and o.info["relative_delta"] <= 0.01
            np.testing.assert_allclose(o.token_scores, f.token_scores, atol=0.1 * np.abs(f.token_scores).max())
        else:
            assert o.info["precision"] == "fp32" and o.info["recomputed_from"] == precision
            np.testing.assert_array_equal(o.token_scores, f.token_scores)


def test_reduced_precision_is_summarised_with_the_number_recomputed():
    # completeness_check() infos: every one carries its rule
    from reportgen.bundle.records import MethodInfo
    from reportgen.compute.aggregate import DatasetAggregate

    def check(**values):
        return MethodInfo(rule="clenshaw-curtis (adaptive)", delta=0.0, **values)

    infos = [check(relative_delta=0.001, steps=17, precision="bf16"),
             check(relative_delta=0.002, steps=33, precision="fp32", recomputed_from="bf16")]
    agg = DatasetAggregate.__new__(DatasetAggregate)
    summary = agg._convergence([("a", infos[0]), ("b", infos[1])], 0.01)
    assert summary["precision"] == {"reduced": "bf16", "n": 2, "recomputed": 1}
    assert "precision" not in agg._convergence([("a", check(relative_delta=0.0, steps=50))], 0.01)
    undefined = agg._convergence([("a", check(relative_delta=None, steps=50))], 0.01)  # inf, saved as absent
    assert undefined["flagged"] == ["a"]


def test_decompx_shares_add_up_to_the_logit(ctx):
    for out, logit in zip(make("decompx").attribute(ctx), ctx.target_logits):
        assert abs(out.token_scores.sum() - logit) < 1e-5 * max(1.0, abs(logit))
        assert out.info["sum"] == pytest.approx(float(out.token_scores.sum()))


def test_decompx_without_biases_is_gradient_times_input_of_the_frozen_model(ctx):
    """With every bias zero nothing is shared out, and DecompX is exactly linear in the input embeddings: each
    token's share is its embedding times the gradient of the model whose attention weights, LayerNorm scales
    and activation ratios are frozen at their values on this input. Computed here with autograd, independently
    of the method's explicit decomposition."""
    from reportgen.compute.methods.bert_layout import bert_layout
    from reportgen.compute.methods.decompx import logit_shares

    adapter = _without_biases(ctx)
    layout = bert_layout(adapter, "decompx", head=True)
    for enc, target in zip(ctx.encoded, ctx.targets):
        ids = torch.tensor([enc.input_ids])
        with torch.no_grad():
            shares = logit_shares(adapter, layout, ids, None)[0, :, target]
        x0 = layout.embeddings(ids, None).detach().requires_grad_(True)
        logit = _frozen_forward(adapter, layout, x0)[0, target]
        (grad,) = torch.autograd.grad(logit, x0)
        np.testing.assert_allclose(shares.numpy(), (grad * x0).sum(-1)[0].detach().numpy(), atol=1e-5, rtol=1e-4)


def _frozen_forward(adapter, layout, hidden, attention: str = "stop"):
    """The model with its non-linear gains detached: LayerNorm scales, GELU(a)/a, tanh(a)/a, and at the attention
    either the weights ("stop") or AttnLRP's uniform rule, half the gradient at each product of two activations."""
    from reportgen.compute.methods.lrp_rules import scaled_gradient

    for layer in layout.blocks:
        sa = layer.attention.self
        b, s, d = hidden.shape
        h, size = sa.num_attention_heads, d // sa.num_attention_heads
        q, k, v = (t.view(b, s, h, size).transpose(1, 2) for t in (sa.query(hidden), sa.key(hidden), sa.value(hidden)))
        if attention == "stop":
            context = torch.softmax(q @ k.transpose(-1, -2) / size**0.5, -1).detach() @ v
        else:
            scores = scaled_gradient(q @ k.transpose(-1, -2), 2) / size**0.5
            context = scaled_gradient(torch.softmax(scores, -1) @ v, 2)
        context = context.transpose(1, 2).reshape(b, s, d)
        hidden = _held_norm(layer.attention.output.dense(context) + hidden, layer.attention.output.LayerNorm)
        pre = layer.intermediate.dense(hidden)
        gain = (layer.intermediate.intermediate_act_fn(pre) / pre).detach()
        hidden = _held_norm(layer.output.dense(gain * pre) + hidden, layer.output.LayerNorm)
    if adapter.head.own:
        pre = layout.base.pooler.dense(hidden[:, 0])
        return adapter.model.classifier((torch.tanh(pre) / pre).detach() * pre)
    return adapter.probe(hidden.mean(1))


def _held_norm(x, ln):
    """LayerNorm with its standard deviation held constant."""
    centred = x - x.mean(-1, keepdim=True)
    return centred / torch.sqrt(centred.pow(2).mean(-1, keepdim=True) + ln.eps).detach() * ln.weight + ln.bias


def _without_biases(ctx, positions: bool = False):
    """A copy of the context's adapter whose Linear and LayerNorm biases (and probe bias) are zero; with
    positions, its position and token-type embeddings too, so nothing but the word pieces carries relevance."""
    adapter = copy.copy(ctx.adapter)
    adapter.model = copy.deepcopy(ctx.adapter.model)
    with torch.no_grad():
        for module in adapter.model.modules():
            if isinstance(module, (torch.nn.Linear, torch.nn.LayerNorm)) and module.bias is not None:
                module.bias.zero_()
        if positions:
            embeddings = adapter.model.base_model.embeddings
            embeddings.position_embeddings.weight.zero_()
            embeddings.token_type_embeddings.weight.zero_()
        if adapter.probe is not None:
            adapter.probe = copy.deepcopy(adapter.probe)
            adapter.probe.linear.bias.zero_()
    return adapter


def test_cp_lrp_without_biases_is_decompx_and_conserves_the_logit(ctx):
    """With no bias and no position embedding, CP-LRP's model is linear in the word-piece embeddings, so its
    relevance adds up to the logit, and it is DecompX's decomposition (computed explicitly, checked against the
    authors' code by benchmarks/vs_decompx.py): two independent routes to the same numbers."""
    from reportgen.compute.methods.bert_layout import bert_layout
    from reportgen.compute.methods.decompx import logit_shares

    adapter = _without_biases(ctx, positions=True)
    lengths = {len(e.input_ids) for e in ctx.encoded}
    single = replace(ctx, adapter=adapter)
    outputs = make("cp_lrp").attribute(single)
    layout = bert_layout(adapter, "decompx", head=True)
    for enc, target, out in zip(ctx.encoded, ctx.targets, outputs):
        ids = torch.tensor([enc.input_ids])
        types = None if enc.token_type_ids is None else torch.tensor([enc.token_type_ids])
        with torch.no_grad():
            shares = logit_shares(adapter, layout, ids, types)[0, :, target].numpy()
        np.testing.assert_allclose(out.token_scores, shares, atol=1e-5, rtol=1e-4)
        mask = torch.ones_like(ids)
        with torch.no_grad():
            logit = float(adapter.logits_from_embeddings(adapter.embed(ids), mask, types)[0, target])
        assert abs(out.token_scores.sum() - logit) < 1e-5 * max(1.0, abs(logit))
    assert len(lengths) > 1  # the batch padded examples of several lengths


@pytest.mark.parametrize("name", ["attn_lrp", "cp_lrp"])
def test_lrp_rules_change_only_gradients_and_are_removed_afterwards(ctx, name):
    """Under the rules the model computes its own logits; afterwards it has no hook and its attention kernel is
    the one it had."""
    from reportgen.compute.methods.lrp_rules import relevance_rules

    adapter = ctx.adapter
    ids, mask, types = padded_batch(ctx.encoded, list(range(len(ctx.encoded))), adapter.device)
    hooks = {name: dict(m._forward_hooks) for name, m in adapter.model.named_modules()}
    with torch.no_grad():
        before = adapter.logits_from_embeddings(adapter.embed(ids), mask, types)
        with relevance_rules(adapter, "uniform" if name == "attn_lrp" else "stop"):
            under = adapter.logits_from_embeddings(adapter.embed(ids), mask, types)
    torch.testing.assert_close(under, before, atol=1e-6, rtol=1e-5)
    assert adapter.model.config._attn_implementation == adapter.details.attn_implementation
    assert {name: dict(m._forward_hooks) for name, m in adapter.model.named_modules()} == hooks
    for out, logit in zip(make(name).attribute(ctx), ctx.target_logits):
        assert out.info["logit"] == logit and out.info["sum"] == pytest.approx(float(out.token_scores.sum()))


def test_attn_lrp_is_gradient_x_input_of_a_model_with_its_rules_written_out(ctx):
    """AttnLRP computed independently of the hooks: the BERT forward pass written out, with LayerNorm's scale
    and the activations' ratios detached and the attention's products given half the gradient each."""
    from reportgen.compute.methods.bert_layout import bert_layout

    adapter = ctx.adapter
    layout = bert_layout(adapter, "attn_lrp", head=True)
    embeddings = layout.base.embeddings
    outputs = make("attn_lrp").attribute(ctx)
    for enc, target, out in zip(ctx.encoded, ctx.targets, outputs):
        ids = torch.tensor([enc.input_ids])
        types = torch.zeros_like(ids) if enc.token_type_ids is None else torch.tensor([enc.token_type_ids])
        x = embeddings.word_embeddings(ids).detach().requires_grad_(True)
        positions = torch.arange(ids.shape[1])[None]
        hidden = _held_norm(x + embeddings.position_embeddings(positions) + embeddings.token_type_embeddings(types),
                            embeddings.LayerNorm)
        logit = _frozen_forward(adapter, layout, hidden, attention="uniform")[0, target]
        (grad,) = torch.autograd.grad(logit, x)
        np.testing.assert_allclose(out.token_scores, (grad * x).sum(-1)[0].detach().numpy(), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", ["alti", "value_zeroing"])
def test_context_mixing_scores_are_a_distribution_and_the_identity_without_attention(ctx, name):
    """ALTI's and value zeroing's rows share out 1 over the tokens; with every value and output projection
    zeroed, a block's attention adds nothing, so each position owes everything to itself and the rollout is the
    identity."""
    from reportgen.compute.methods.bert_layout import bert_layout

    for out in make(name).attribute(ctx):
        assert (out.token_scores >= 0).all() and abs(out.token_scores.sum() - 1) < 1e-5
    model = copy.deepcopy(ctx.adapter.model)
    with torch.no_grad():
        for layer in model.base_model.encoder.layer:
            for linear in (layer.attention.self.value, layer.attention.output.dense):
                linear.weight.zero_()
                linear.bias.zero_()
    adapter = copy.copy(ctx.adapter)
    adapter.model = model
    ids = torch.tensor([ctx.encoded[0].input_ids])
    with torch.no_grad():
        rollout = METHODS.get(name).rollout(bert_layout(adapter, name, head=False), ids, None)[0]
    np.testing.assert_allclose(rollout.numpy(), np.eye(len(ctx.encoded[0].input_ids)), atol=1e-6)


@pytest.mark.parametrize("name,constant", [("decompx", "FFN_BLOCK_ELEMENTS"), ("value_zeroing", "COPY_BLOCK_ELEMENTS")])
def test_long_input_blocks_give_the_same_scores(ctx, monkeypatch, name, constant):
    """The slices that bound a long input's memory (one row or copy at a time here) change no score."""
    import importlib

    whole = make(name).attribute(ctx)
    monkeypatch.setattr(importlib.import_module(f"reportgen.compute.methods.{name}"), constant, 1)
    for a, b in zip(whole, make(name).attribute(ctx)):
        np.testing.assert_allclose(b.token_scores, a.token_scores, rtol=1e-5, atol=1e-6)


def test_counted_cost_is_in_forward_passes_and_cached(ctx, tmp_path):
    """Cost is torch's FLOP count per example over one plain forward pass per example: Gradient x Input is one
    forward and one backward pass (2 to 3 forward passes: the backward computes input gradients, not weight
    ones); Integrated Gradients at 8 fixed steps is 8 of those; rollout and random run no model arithmetic."""
    from reportgen.compute.cache import ChunkCache
    from reportgen.compute.cost import counted_costs
    from reportgen.models.crossfit import ProbeGroup

    config = ctx.config
    chosen = [0, 1, 2]
    methods = [make(n, **({"steps": 8} if n == "integrated_gradients" else {}))
               for n in ("gradient_x_input", "integrated_gradients", "attention_rollout", "random")]
    args = (ctx.adapter, methods, [ctx.encoded[i] for i in chosen], [ctx.targets[i] for i in chosen],
            [ctx.target_logits[i] for i in chosen], [ctx.attentions[i] for i in chosen],
            [ProbeGroup(ctx.adapter.probe, [0, 1, 2])], config, ChunkCache(tmp_path), {"test": 1})
    cost = counted_costs(*args)
    passes = {name: entry["forward_passes"] for name, entry in cost["methods"].items()}
    assert cost["examples"] == 3 and cost["forward_flops"] > 0
    assert 1.5 < passes["gradient_x_input"] < 3.5
    assert 8 * 1.5 < passes["integrated_gradients"] < 8 * 3.5
    assert passes["attention_rollout"] == 0 and passes["random"] == 0
    assert cost["relative_to"] == "integrated_gradients" and cost["methods"]["integrated_gradients"]["share"] == 1

    class _Refuses:  # a second call must come from the cache, without running any method
        name = "gradient_x_input"

        def key(self, config):
            return methods[0].key(config)

        def attribute(self, _ctx):
            raise AssertionError("recomputed")

    again = counted_costs(ctx.adapter, [_Refuses(), *methods[1:]], *args[2:])
    assert again == json_round_trip(cost)


def json_round_trip(value):
    import json

    return json.loads(json.dumps(value))


def test_every_method_says_what_it_shows_in_plain_words():
    """Each built-in method declares the sentence its highlights are shown with: no jargon a reader must look up
    ("logit", "gradient of", "embedding", "baseline"), and not its technical summary again."""
    for name in NAMES:
        method = METHODS.get(name)
        assert method.plain and method.plain != method.summary, name
        assert not any(word in method.plain.lower() for word in ("logit", "gradient of", "embedding", "baseline")), name
