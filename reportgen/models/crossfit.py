"""Cross-fitting: no example is predicted or explained through a probe that was fitted on it.

The labelled examples are split into k stratified folds; the examples of fold j are predicted, explained and
scored through the probe fitted on the other folds. Examples the probes never learn from (unlabelled, or
unreadable) go through the probe fitted on every labelled readable example. With a separate training file
(--probe-train) one probe fitted on that file serves every example. The probes of an earlier report can be
reused (--probe-from) so that adding examples to an evaluation set recomputes only the new ones: the examples
that report explained keep their probes, and new examples go through probes fitted before they existed.
Either way each prediction shown is a held-out one, and the accuracy on the pages is the held-out accuracy."""

from __future__ import annotations

import hashlib
import json
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from reportgen.bundle.sections import ModelSummary, ProbeSummary, ProbeWeights
from reportgen.bundle.typed import parse
from reportgen.models.probe import LinearProbe, fit_linear

MAX_FOLDS = 5


@dataclass(frozen=True)
class ProbeGroup:
    """Examples (indices into the explained set) that share one probe; probe None: the model's own head."""

    probe: Optional[LinearProbe]
    indices: list[int]
    fold: Optional[int] = None  # 0-based fold, None for the probe fitted on all training examples


@dataclass(frozen=True)
class CrossFit:
    groups: list[ProbeGroup]
    scheme: str  # "cross_fitted" or "train_file"
    folds: int  # k, or 0 with a training file
    n_fitted: int  # examples the probes learnt from (labelled readable ones, or the training file's)
    train_accuracy: float  # the all-examples probe on its own training data: optimistic, shown for contrast
    regularisation_c: float
    train_file: Optional[str]
    reused_from: Optional[str] = None  # --probe-from: the report whose probes these are
    n_new: int = 0  # with reused probes: examples that report did not explain


def cross_fit(
    features: np.ndarray,  # float[n, hidden]
    labels: Sequence[Optional[str]],  # gold label per explained example, None if unlabelled
    usable: Sequence[bool],  # False: never learnt from (unreadable text)
    label_order: Sequence[str],
    seed: int,
    c: float = 1.0,
) -> CrossFit:
    from sklearn.model_selection import StratifiedKFold

    train = [i for i, (lab, ok) in enumerate(zip(labels, usable)) if lab is not None and ok]
    y = np.array([label_order.index(labels[i]) for i in train])
    x = features.astype(np.float64)
    full = fit_linear(x[train], y, len(label_order), seed, c)
    train_accuracy = float((full.predict(x[train]) == y).mean())
    counts = np.bincount(y, minlength=len(label_order))
    folds = int(min(MAX_FOLDS, len(train), max(2, counts.max())))
    groups: list[ProbeGroup] = []
    with warnings.catch_warnings():
        # A class with fewer members than folds is allowed: its few examples still land in different folds.
        warnings.filterwarnings("ignore", message="The least populated class")
        splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(x[train], y)
        for fold, (fit_rows, held_rows) in enumerate(splits):
            probe = fit_linear(x[train][fit_rows], y[fit_rows], len(label_order), seed, c)
            groups.append(ProbeGroup(probe, sorted(train[r] for r in held_rows), fold))
    rest = sorted(set(range(len(labels))) - set(train))
    if rest:
        groups.append(ProbeGroup(full, rest))
    return CrossFit(groups, "cross_fitted", folds, len(train), train_accuracy, c, None)


def train_file_fit(
    train_features: np.ndarray, train_labels: Sequence[str], n_explained: int, label_order: Sequence[str],
    seed: int, train_file: str, c: float = 1.0,
) -> CrossFit:
    y = np.array([label_order.index(lab) for lab in train_labels])
    probe = fit_linear(train_features.astype(np.float64), y, len(label_order), seed, c)
    train_accuracy = float((probe.predict(train_features.astype(np.float64)) == y).mean())
    return CrossFit([ProbeGroup(probe, list(range(n_explained)))], "train_file", 0, len(y), train_accuracy, c,
                    train_file)


@dataclass(frozen=True)
class ProbeSource:
    """What --probe-from reads of an earlier report: its probe section, its classes and its model's weights."""

    name: str  # the report's folder name, as the pages say it
    probe: ProbeSummary  # results.json model.probe
    labels: list[str]
    weights_sha256: Optional[str]


def probe_results_file(path: Path) -> Path:
    """results.json of a report given as its site folder, its data/ folder or the file itself."""
    for candidate in (path / "data" / "results.json", path / "results.json", path):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"--probe-from {path}: no data/results.json there; name a site that reportgen built")


def read_probe_source(path: Path) -> ProbeSource:
    from reportgen.errors import ConfigError, InputError

    try:
        payload = json.loads(probe_results_file(path).read_text(encoding="utf-8"))
        model = parse(ModelSummary, payload["model"], "model")
        probe = model.probe
        labels = list(payload["labels"])
    except FileNotFoundError as err:
        raise InputError(str(err)) from None
    except (ValueError, KeyError, TypeError):
        raise InputError(f"--probe-from {path}: its results.json is not a reportgen report's") from None
    if probe is None or not probe.probes:
        raise ConfigError(f"--probe-from {path}: that report used its model's own head, so it has no probes")
    name = path.name if path.name not in ("data", "results.json") else path.resolve().parent.name
    return ProbeSource(name, probe, labels, model.weights_sha256)


def check_probe_model(source: ProbeSource, adapter: Any) -> None:
    """Probes read another model's features meaninglessly: refuse a report of different weights."""
    from reportgen.errors import ConfigError

    mine = adapter.details.weights_sha256
    if source.weights_sha256 != mine:
        raise ConfigError(f"--probe-from {source.name}: that report's model has weights sha256 "
                          f"{str(source.weights_sha256)[:12]}, this one {str(mine)[:12]}; probes only apply to the "
                          "model they were fitted on")
    hidden = len(source.probe.probes[0].weight[0])
    if hidden != adapter.details.hidden_size:
        raise ConfigError(f"--probe-from {source.name}: its probes read {hidden} features, this model has "
                          f"{adapter.details.hidden_size}")


def reused_fit(previous: ProbeSummary, source: str, slugs: Sequence[str]) -> CrossFit:
    """The probes of an earlier report (its results.json model.probe): an example that report explained keeps
    its probe (matched by slug); an example new here goes through one of the fold probes, picked by a hash of
    its slug so the choice depends on nothing else. None of those probes saw a new example, so its prediction is
    held out too; the figures of how the probes were fitted are the earlier report's."""
    from reportgen.models.probe import LinearProbe

    entries = previous.probes
    position = {slug: i for i, slug in enumerate(slugs)}
    members: list[list[int]] = [[position[s] for s in entry.examples if s in position] for entry in entries]
    known = {i for group in members for i in group}
    new = [i for i in range(len(slugs)) if i not in known]
    folds = [k for k, entry in enumerate(entries) if entry.fold is not None] or list(range(len(entries)))
    for i in new:
        digest = hashlib.sha256(slugs[i].encode("utf-8")).digest()
        members[folds[int.from_bytes(digest[:8], "little") % len(folds)]].append(i)
    groups = [ProbeGroup(LinearProbe(np.asarray(entry.weight), np.asarray(entry.bias)), sorted(group),
                         entry.fold) for entry, group in zip(entries, members)]
    return CrossFit(groups, previous.scheme, previous.folds, previous.n_fitted, previous.train_accuracy,
                    previous.regularisation_c, previous.train_file, source, len(new))


def restricted(groups: Sequence[ProbeGroup], indices: Sequence[int]) -> list[ProbeGroup]:
    """The groups over a subset of the examples (a chunk, a sample), numbered by position in `indices`:
    each example keeps its own probe. Groups with none of the subset are left out."""
    position = {i: k for k, i in enumerate(indices)}
    out = [ProbeGroup(g.probe, [position[i] for i in g.indices if i in position], g.fold) for g in groups]
    return [g for g in out if g.indices]


def group_logits(groups: Sequence[ProbeGroup], pooled: np.ndarray, classes: int, device: Any) -> np.ndarray:
    """float32[n, classes]: each row's logits from its own group's probe."""
    import torch

    logits = np.zeros((len(pooled), classes), dtype=np.float32)
    for group in groups:
        with torch.no_grad():
            features_in = torch.from_numpy(pooled[group.indices]).to(device)
            logits[group.indices] = group.probe.to(device)(features_in).float().cpu().numpy()
    return logits


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def held_out_predictions(fit: CrossFit, features: np.ndarray) -> np.ndarray:
    """int[n]: each example's predicted class from its own group's probe."""
    predicted = np.zeros(len(features), dtype=np.int64)
    for group in fit.groups:
        if group.indices:
            predicted[group.indices] = group.probe.predict(features[group.indices])
    return predicted


def held_out_summary(fit: CrossFit, results: Sequence[Any], slugs: Sequence[str]) -> ProbeSummary:
    """What results.json says of the probe: how it was fitted, its held-out accuracy with a binomial test
    against always answering the most frequent class, and every probe's weights (re-derivable)."""
    from scipy.stats import binomtest

    held = [r for r in results if r.label is not None and not r.unreadable]
    correct = sum(1 for r in held if r.correct)
    majority = p_value = None
    if held:
        majority = max(Counter(r.label for r in held).values()) / len(held)
        p_value = float(binomtest(correct, len(held), majority, alternative="greater").pvalue)
    return ProbeSummary(
        scheme=fit.scheme, folds=fit.folds, n_fitted=fit.n_fitted, train_file=fit.train_file,
        reused_from=fit.reused_from, n_new=fit.n_new, train_accuracy=fit.train_accuracy,
        regularisation_c=fit.regularisation_c, n_held_out=len(held),
        held_out_accuracy=correct / len(held) if held else None, majority_share=majority, p_value=p_value,
        probes=tuple(ProbeWeights(fold=g.fold, examples=tuple(slugs[i] for i in g.indices),
                                  weight=g.probe.linear.weight.tolist(), bias=g.probe.linear.bias.tolist())
                     for g in fit.groups if g.probe is not None))
