"""The classes a report explains and who predicts them: a model's own head (its labels renamed as asked) or
probes on a bare encoder (cross-fitted, fitted on --probe-train, or reused with --probe-from); each example's
held-out logits and the class its explanations are for."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Optional, Sequence

import numpy as np

from reportgen.compute.encode import encode_ids
from reportgen.compute.forward import pooled_features
from reportgen.config import BuildConfig
from reportgen.errors import ConfigError, InputError
from reportgen.inputs import check_labels
from reportgen.models import ModelAdapter
from reportgen.models.checks import MAX_CLASSES
from reportgen.models.crossfit import (
    CrossFit,
    ProbeGroup,
    ProbeSource,
    cross_fit,
    group_logits,
    reused_fit,
    train_file_fit,
)
from reportgen.types import Example

log = logging.getLogger(__name__)

def held_out_logits(adapter: ModelAdapter, groups: Sequence[ProbeGroup], features: dict) -> np.ndarray:
    if adapter.head.own:
        return features["logits"]
    return group_logits(groups, features["pooled"], len(adapter.labels), adapter.device)


def resolve_labels(cfg: BuildConfig, examples: Sequence[Example], adapter: ModelAdapter,
                    probe_train: Optional[tuple[Sequence[Example], str]]) -> list[str]:
    if adapter.head.own:
        names = head_labels(adapter.labels, cfg.label_map, cfg.labels)
        seen = sorted({ex.label for ex in examples if ex.label is not None} - set(names))
        example = ",".join(f"{old}={new}" for old, new in zip(adapter.labels, seen or names))
        renamed = " (after --label-map/--labels)" if cfg.label_map or cfg.labels else ""
        check_labels(cfg.examples, examples, names, f"the model {adapter.name!r}{renamed} (config.id2label)",
                     "If these are the same classes under other names, rename the model's: --label-map "
                     f"{example} (or --labels with every name in the model's order); otherwise fix the examples' "
                     "labels or choose the model trained for them")
        return names
    if cfg.label_map:
        raise ConfigError(f"--label-map renames a classification head's labels, and {adapter.name!r} has none; "
                          "a probe takes its labels from the examples (--labels sets their order)")
    if cfg.labels:
        check_labels(cfg.examples, examples, cfg.labels, "--labels")
        return list(cfg.labels)
    source = probe_train[0] if probe_train else examples
    seen = sorted({ex.label for ex in source if ex.label is not None})
    if probe_train:
        check_labels(cfg.examples, examples, seen, f"--probe-train {probe_train[1]}")
    if len(seen) < 2:
        raise InputError(
            f"{cfg.examples}: the model {adapter.name!r} has no classification head, so reportgen fits a "
            f"linear probe on it, which needs gold labels of at least 2 classes (found {len(seen)}); "
            "add 'label' to the examples, pass --probe-train FILE, or a --model with a sequence-classification head"
        )
    if len(seen) > MAX_CLASSES:
        raise InputError(f"{cfg.examples}: the examples have {len(seen):,} different labels; reportgen explains "
                         f"classifiers of at most {MAX_CLASSES:,} classes (its per-class tables grow with the square)")
    return seen


def head_labels(model_labels: Sequence[str], label_map: Optional[Sequence[tuple[str, str]]],
                labels: Optional[Sequence[str]]) -> list[str]:
    """A head's class names after --label-map (model name -> shown name) or --labels (every name, in order)."""
    names = list(model_labels)
    if label_map:
        unknown = [old for old, _ in label_map if old not in names]
        if unknown:
            raise ConfigError(f"--label-map: the model has no label {unknown[0]!r}; its labels are {', '.join(names)}")
        mapping = dict(label_map)
        names = [mapping.get(name, name) for name in names]
    if labels:
        if len(labels) != len(names):
            raise ConfigError(f"--labels names {len(labels)} classes but the model's head has {len(names)} "
                              f"({', '.join(names)}); give one name per class, in that order")
        names = list(labels)
    if len(set(names)) != len(names):
        raise ConfigError(f"two of the model's classes would share a name: {', '.join(names)}")
    return names


def reuse_probes(source: ProbeSource, labels: Sequence[str], slugs: Sequence[str]) -> CrossFit:
    if list(labels) != source.labels:
        raise ConfigError(f"--probe-from {source.name}: its probes predict {', '.join(source.labels)}; these examples "
                          f"give the classes {', '.join(labels)} (pass --labels in the report's order, or fit anew)")
    fit = reused_fit(source.probe, source.name, slugs)
    log.info("probes reused from %s: %d of %d examples are new to them", source.name, fit.n_new, len(slugs))
    return fit


def fit_probes(adapter, cfg, examples, pooled, labels, readable, max_length, progress, probe_train) -> CrossFit:
    """Cross-fitted probes on the labelled readable examples, or one probe on --probe-train's examples."""
    if probe_train is not None:
        train_examples, name = probe_train
        train_encoded = encode_ids(adapter.tokenizer, train_examples, max_length)
        features = pooled_features(adapter, train_encoded, cfg.compute, progress)
        fit = train_file_fit(features, [ex.label for ex in train_examples], len(examples), labels, cfg.compute.seed,
                             name)
        log.info("probe fitted on %d examples of %s: in-sample accuracy %.3f", fit.n_fitted, name, fit.train_accuracy)
        return fit
    usable = list(readable)
    usable_labels = {examples[i].label for i, ok in enumerate(usable) if ok and examples[i].label is not None}
    if len(usable_labels) < 2 and cfg.force:
        # --force on unreadable data: learn from every labelled example (still cross-fitted); the error
        # finding about unreadable texts stays on the site.
        log.warning("too few readable labelled examples: --force fits the probe on the unreadable ones too")
        usable = [True] * len(examples)
        usable_labels = {ex.label for ex in examples if ex.label is not None}
    if len(usable_labels) < 2:
        raise InputError(f"{cfg.examples}: a probe needs readable labelled examples of at least 2 classes "
                         f"(found {len(usable_labels)}); add examples or pass --probe-train FILE")
    counts = Counter(examples[i].label for i, ok in enumerate(usable) if ok and examples[i].label is not None)
    if max(counts.values()) < 2:
        # Held out, an example of a class seen once has no other example of its class to learn from.
        raise InputError(f"{cfg.examples}: cross-fitting needs at least 2 readable labelled examples of some class "
                         f"(each of the {len(counts)} classes has 1), so that an example can be held out and its class "
                         "still learnt; add examples or pass --probe-train FILE")
    missing = [lab for lab in labels if lab not in usable_labels]
    if cfg.labels and missing:
        raise ConfigError(f"--labels names {missing[0]!r} but no example has that label; the probe cannot learn it")
    fit = cross_fit(pooled, [ex.label for ex in examples], usable, labels, cfg.compute.seed)
    log.info("probe cross-fitted on %d examples in %d folds", fit.n_fitted, fit.folds)
    return fit


def targets_of(cfg, examples, labels, predicted) -> tuple[list[int], list[str]]:
    targets, sources = [], []
    for ex, pred in zip(examples, predicted):
        if cfg.target == "gold" and ex.label is not None:
            targets.append(labels.index(ex.label))
            sources.append("gold")
        else:
            targets.append(int(pred))
            sources.append("predicted" if cfg.target == "predicted" else "predicted (no gold label)")
    return targets, sources
