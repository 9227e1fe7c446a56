"""The method interface: a method declares what it is, then scores every token of every example."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, ClassVar, Iterable, Iterator, Mapping, Optional, Sequence

import numpy as np
import torch

from reportgen.bundle.declarations import Completeness, MethodDecl
from reportgen.bundle.reasons import Reason
from reportgen.bundle.vocabulary import IG_RELATIVE_DELTA_WARN
from reportgen.compute.encode import EncodedExample, batch_rows
from reportgen.config import ComputeConfig
from reportgen.models import ModelAdapter
from reportgen.registry import Registry


@dataclass
class MethodOutput:
    token_scores: np.ndarray  # float32[seq], aligned with EncodedExample.tokens
    info: dict[str, Any] = field(default_factory=dict)  # per-example diagnostics (e.g. IG delta)


@dataclass
class MethodContext:
    adapter: ModelAdapter
    encoded: Sequence[EncodedExample]
    targets: Sequence[int]  # class index explained for each example
    target_logits: Sequence[float]  # f(x) for that class, from the shared forward pass
    attentions: Sequence[np.ndarray]  # float16[layers, heads, seq, seq] per example
    config: ComputeConfig
    progress: Callable[[str, int], Any]  # progress(description, total) -> object with update(n) and close()
    # Intermediate results several methods need (e.g. input gradients), computed once per context.
    # init=False: dataclasses.replace() gives a changed context (other examples, a randomised model) a fresh one.
    shared: dict[str, Any] = field(default_factory=dict, init=False, repr=False)


@dataclass(frozen=True)
class NoOptions:
    """A method with no options of its own."""


class AttributionMethod:
    name: ClassVar[str]
    title: ClassVar[str]
    family: ClassVar[str]  # "gradient", "attention", "perturbation", "decomposition", "reference"
    signed: ClassVar[bool]  # True: scores can push for (+) or against (-) the target class
    summary: ClassVar[str]  # one line, for `reportgen methods`
    # One sentence a reader without ML training understands, beside the method's highlights (every built-in
    # method has one; a test checks).
    plain: ClassVar[str] = ""
    description: ClassVar[str]  # Markdown for the methods page: how it is computed and its caveats
    # Numbers summary and description name as %(name)s (literal % written %%), kept out of their text so it is
    # one catalogue message; MethodDecl.worded fills them in.
    facts: ClassVar[Optional[dict[str, int]]] = None
    # Capabilities, read from the bundle's method declarations (nothing downstream checks a method's name).
    # This method's own options: a frozen dataclass whose fields carry their types, ranges and defaults (pydantic
    # annotations). A user sets them in a [methods.NAME] table of reportgen.toml or with --option NAME.KEY=VALUE;
    # they are checked when the configuration is read, recorded on the site, and part of the method's cache key.
    Options: ClassVar[type] = NoOptions
    # The shared ComputeConfig fields this method reads besides batch_tokens and seed: the cache recomputes a
    # method's scores when one of them changes, and only that method's (a unit test checks the list is complete).
    settings: ClassVar[tuple[str, ...]] = ()
    lead: ClassVar[int] = 0  # the signed method with the highest lead heads the summaries (ties: run order)
    # Scores that should add up to f(end) - f(baseline): each example's info is then a completeness_check().
    completeness: ClassVar[Optional[Completeness]] = None
    # approximates: the method this one is a one-point (linear) approximation of; the methods page says how
    #   often the two rank words in opposite orders.
    approximates: ClassVar[Optional[str]] = None
    # Costly: many passes per example (a path, noisy copies, masked samples). Beside a one-pass lead it runs on the
    # build's costly sample and the paged examples only (--costly-sample; compute/plan.py), not on every example.
    costly: ClassVar[bool] = False

    def __init__(self, options: Optional[Mapping[str, Any]] = None) -> None:
        """options: this method's option values (checked by load_config), the defaults for the rest."""
        self.options = self.Options(**(options or {}))

    def attribute(self, ctx: MethodContext) -> list[MethodOutput]:
        raise NotImplementedError

    def key(self, config: ComputeConfig) -> dict[str, Any]:
        """What this method's scores depend on besides the model, the texts and the shared settings."""
        return {"options": asdict(self.options), "settings": {s: getattr(config, s) for s in self.settings}}

    def convergence_threshold(self) -> float:
        """For a method that declares Completeness: the largest relative delta that counts as resolved."""
        return IG_RELATIVE_DELTA_WARN

    @classmethod
    def declaration(cls) -> MethodDecl:
        return MethodDecl(name=cls.name, title=cls.title, family=cls.family, signed=cls.signed, summary=cls.summary,
                          plain=cls.plain,
                          description=cls.description, lead=cls.lead, completeness=cls.completeness,
                          approximates=cls.approximates, costly=cls.costly, facts=cls.facts)

    @classmethod
    def does_not_apply(cls, adapter: ModelAdapter) -> Optional[Reason]:
        """Why this method cannot explain this model (worded on the methods page when the method came from
        --methods all, an error when it was named), or None."""
        return None


METHODS: Registry[type[AttributionMethod]] = Registry("attribution method")


def completeness_check(scores_sum: float, f_end: float, f_baseline: float, steps: int, rule: str,
                       **extra: Any) -> dict[str, Any]:
    """The info of a method that declares Completeness, defined once: delta = sum of scores - (f(end) -
    f(baseline)), and relative_delta = |delta| / |f(end) - f(baseline)|. Where f(end) and f(baseline) are equal
    the relative delta is 0 if the scores sum to 0 too, else infinite (null in the JSON): never resolved."""
    gap = f_end - f_baseline
    delta = scores_sum - gap
    relative = abs(delta) / abs(gap) if abs(gap) > 1e-12 else float("inf") if abs(delta) > 1e-12 else 0.0
    return {"delta": delta, "relative_delta": relative, "f_end": f_end, "f_baseline": f_baseline, "steps": steps,
            "rule": rule, **extra}


def equal_length_chunks(
    encoded: Sequence[EncodedExample], indices: Iterable[int], rows_per_example: int | Callable[[int], int],
    budget_tokens: int,
) -> Iterator[list[int]]:
    """Examples of exactly equal length, batched together (so no padding at all), each batch holding
    about budget_tokens tokens once every example is expanded to rows_per_example rows (a number, or a function
    of the length: a decomposition holds length rows of length vectors)."""
    by_length: dict[int, list[int]] = defaultdict(list)
    for i in indices:
        by_length[encoded[i].length].append(i)
    for length in sorted(by_length):
        group = by_length[length]
        rows = rows_per_example(length) if callable(rows_per_example) else rows_per_example
        per_batch = batch_rows(length, budget_tokens, rows)
        for start in range(0, len(group), per_batch):
            yield group[start : start + per_batch]


def pads_across_lengths(device: torch.device) -> bool:
    """Whether examples of different lengths share a path batch. On a GPU, yes: a batch of only equal lengths
    holds a few examples per chunk, and a GPU mostly waits on kernel launches at that size (measured on an
    H100: Integrated Gradients ran at 105 examples/s that way). On a CPU, no: padding is work a CPU really
    does, and equal lengths keep every score independent of which examples share its batch."""
    return device.type != "cpu"


def path_batches(
    encoded: Sequence[EncodedExample], indices: Iterable[int], rows_per_example: int, budget_tokens: int, pad: bool
) -> Iterator[list[int]]:
    """Batches for methods that expand each example to rows_per_example rows (steps, noisy copies): equal
    lengths only, or with pad, neighbouring lengths padded to the longest of the batch."""
    if not pad:
        yield from equal_length_chunks(encoded, indices, rows_per_example, budget_tokens)
        return
    order = sorted(indices, key=lambda i: (encoded[i].length, i))
    current: list[int] = []
    for i in order:  # ascending lengths: the newest example is the batch's longest
        if current and len(current) + 1 > batch_rows(encoded[i].length, budget_tokens, rows_per_example):
            yield current
            current = []
        current.append(i)
    if current:
        yield current


def padded_batch(
    encoded: Sequence[EncodedExample], indices: Sequence[int], device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]:
    """input_ids, attention_mask, token_type_ids for a right-padded batch of the given examples."""
    width = max(encoded[i].length for i in indices)
    ids = torch.zeros((len(indices), width), dtype=torch.long)
    mask = torch.zeros((len(indices), width), dtype=torch.long)
    has_types = encoded[indices[0]].token_type_ids is not None
    types = torch.zeros((len(indices), width), dtype=torch.long) if has_types else None
    for row, i in enumerate(indices):
        ex = encoded[i]
        ids[row, : ex.length] = torch.tensor(ex.input_ids)
        mask[row, : ex.length] = 1
        if types is not None:
            types[row, : ex.length] = torch.tensor(ex.token_type_ids)
    return ids.to(device), mask.to(device), None if types is None else types.to(device)
