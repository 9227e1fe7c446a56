"""Pass 1: each example's pooled features and its [UNK] share (and a model's own head's logits), chunk by chunk
and cached; a model that gives non-finite numbers, or texts it cannot read, stop the build here."""

from __future__ import annotations

import io
import logging
from collections import defaultdict
from functools import partial
from typing import Sequence

import numpy as np

from reportgen.compute.cache import key_of
from reportgen.compute.encode import encode_documents, token_batches, window_rows
from reportgen.compute.methods.base import padded_batch
from reportgen.compute.windows import mean_over_windows
from reportgen.config import BuildConfig
from reportgen.errors import InputError, ModelLoadError
from reportgen.progress import release_memory, settled_heap
from reportgen.types import Example

log = logging.getLogger(__name__)

FEATURE_ARRAYS = ("pooled", "unk_fraction", "cells", "windows")


def feature_arrays(data: bytes, n: int, classes: int) -> dict[str, np.ndarray]:
    """A cached features entry, checked: the arrays pass 1 writes, numeric, one row per example of the chunk."""
    with np.load(io.BytesIO(data), allow_pickle=False) as loaded:
        arrays = {name: loaded[name] for name in loaded.files}
    expected = {*FEATURE_ARRAYS, *(("logits",) if classes else ())}
    if set(arrays) != expected or any(a.dtype.kind not in "fiu" or len(a) != n for a in arrays.values()):
        raise ValueError("unexpected arrays")
    if classes and arrays["logits"].shape != (n, classes):
        raise ValueError("logits of another shape")
    return arrays


def check_finite(cfg: BuildConfig, examples: Sequence[Example], features: dict[str, np.ndarray], model: str) -> None:
    """A model can be finite on the load check's sentence and not on every text: NaN logits would be a NaN on
    every page that reads them, so the build stops at the first such example, before explaining any."""
    for name in ("logits", "pooled"):
        if name in features:
            bad = np.flatnonzero(~np.isfinite(features[name]).all(axis=1))
            if len(bad):
                ex = examples[int(bad[0])]
                raise ModelLoadError(f"{cfg.examples}:{ex.line}: the model {model!r} gives NaN or infinite "
                                     f"{'logits' if name == 'logits' else 'features'} for example {ex.id!r} "
                                     f"({len(bad)} examples in all); its weights or its numerics are broken")


def read_features(adapter, examples, spans, ccfg, max_length, cache, base_key, progress) -> dict[str, np.ndarray]:
    """Pass 1, chunk by chunk (cached): the probe's features, the head's logits and each text's [UNK] share."""
    parts: dict[str, list[np.ndarray]] = defaultdict(list)
    classes = len(adapter.labels) if adapter.head.own else 0
    bar = progress("Forward pass (predictions and features)", len(examples))
    with settled_heap():
        for span in spans:
            key = key_of({**base_key, "kind": "features", "texts": [[examples[i].text, examples[i].text_pair]
                                                                     for i in span]})
            arrays = cache.get("features", key, parse=partial(feature_arrays, n=len(span), classes=classes))
            if arrays is None:
                documents = encode_documents(adapter.tokenizer, [examples[i] for i in span], max_length,
                                             ccfg.long_inputs, ccfg.window_stride)
                rows, owner = window_rows(documents)
                pooled = np.zeros((len(rows), adapter.details.hidden_size), dtype=np.float32)
                logits = np.zeros((len(rows), classes), dtype=np.float32)
                for batch in token_batches([enc.length for enc in rows], ccfg.batch_tokens):
                    ids, mask, types = padded_batch(rows, batch, adapter.device)
                    out = adapter.forward(ids, mask, types, attentions=False)
                    pooled[batch] = out.pooled.float().cpu().numpy()
                    if adapter.head.own:
                        logits[batch] = out.logits.float().cpu().numpy()
                arrays = {"pooled": mean_over_windows(pooled, owner, len(span)),
                          "unk_fraction": np.array([d.whole.unk_fraction for d in documents], dtype=np.float64),
                          # attention cells a chunk holds for the example: the sum over its windows
                          "cells": np.array([sum(w.length ** 2 for w in d.windows) for d in documents],
                                            dtype=np.int64),
                          "windows": np.array([len(d.windows) for d in documents], dtype=np.int64)}
                if adapter.head.own:
                    arrays["logits"] = mean_over_windows(logits, owner, len(span))
                buffer = io.BytesIO()
                np.savez(buffer, **arrays)
                cache.put("features", key, buffer.getvalue())
            for name, values in arrays.items():
                parts[name].append(values)
            release_memory()
            bar.update(len(span))
    bar.close()
    return {name: np.concatenate(values) for name, values in parts.items()}


def check_readable(cfg: BuildConfig, examples: Sequence[Example], readable: Sequence[bool], model: str) -> None:
    """Stop before any expensive method when most texts are unreadable to this model's tokenizer."""
    unreadable = len(readable) - sum(readable)
    if unreadable * 2 > len(readable) and not cfg.force:
        raise InputError(
            f"{cfg.examples}: {unreadable} of {len(readable)} examples are mostly unknown word pieces ([UNK]) to the "
            f"tokenizer of {model!r}, so every explanation of them would be meaningless. Use a model whose "
            "tokenizer covers this script or language (e.g. a multilingual or language-specific model), "
            "or pass --force to build anyway"
        )
    if unreadable:
        log.warning("%d of %d examples are mostly [UNK]; they are left out of probe fitting and data-set figures",
                    unreadable, len(readable))
