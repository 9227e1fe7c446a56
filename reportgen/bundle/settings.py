"""The settings a report records (results.json "config", the manifest): what changed its numbers (ComputeConfig,
also a build's cache key) and how it was built. reportgen.config reads them from the TOML file and the command
line into a BuildConfig; the bundle keeps the part that does not depend on where or how often it was built."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal, Optional, Union

from pydantic import ConfigDict, Field, StrictBool, StrictInt
from pydantic.types import Strict

from reportgen.bundle.typed import section

# AttnLRP, one pass per example, leads: on held-out HateXplain and SST-2 it was more faithful than Integrated
# Gradients at a twentieth of its cost (docs/benchmarks.md, "One-pass methods"). Integrated Gradients, costly, runs
# on the costly sample and the paged examples (costly_sample), for its completeness check and the comparison.
# Gradient x Input is not a default: on held-out HateXplain, SST-2 and AG News it ranked words worse than random
# scores, and it took 194 s of a 825 s default build of 10,001 snippets (docs/benchmarks.md, "Fast default").
DEFAULT_METHODS = ("attn_lrp", "integrated_gradients", "attention_rollout")  # the lead first, as tables list them
# Plausibility needs no extra forward passes; comprehensiveness and sufficiency need 20 per example and
# method, so they are asked for by name (or with "all").
DEFAULT_METRICS = ("token_f1", "token_iou", "auprc")

# Types with their ranges: pydantic checks every value against these at load, from the TOML file and the command
# line alike, before a model loads. Strict: a TOML string is not a boolean ("no" is not false) nor a number, and
# `true` is not 1.
Count = Annotated[int, Strict(), Field(ge=1)]
Size = Annotated[int, Strict(), Field(ge=0)]
Fraction = Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)]
Auto = Literal["auto"]
Names = tuple[Annotated[str, Strict(), Field(min_length=1)], ...]
OptionValue = Union[StrictBool, StrictInt, float, str, None]  # what a method's Options field may hold


@dataclass(frozen=True)
class ComputeConfig:
    """Everything that changes the numbers (and so belongs in a cache key and the manifest)."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # a bundle's or a caller's misspelt key is refused

    methods: Names = DEFAULT_METHODS
    metrics: Names = DEFAULT_METRICS
    target: Literal["predicted", "gold"] = "predicted"
    # method -> its own options ([methods.NAME] in the TOML, --option NAME.KEY=VALUE), each checked against the
    # method's Options when the configuration is read; the build records every option of the methods it ran.
    options: dict[str, dict[str, OptionValue]] = field(default_factory=dict)
    sanity_examples: Size = 0  # >0: model-randomisation sanity check on this many examples (costly)
    global_analysis: StrictBool = True  # model.html: head statistics, head importance, layer probes, calibration
    # None: the model's own limit. Whether it leaves room for a word beside the special tokens is checked once the
    # tokenizer is loaded (compute/windows.py: check_window).
    max_length: Optional[Count] = None
    # A text longer than the window: "window" reads it in overlapping windows and merges them (compute/windows.py
    # states the rules); "truncate" explains its first window only.
    long_inputs: Literal["window", "truncate"] = "window"
    window_stride: Optional[Count] = None  # pieces neighbouring windows share; None: a quarter of the window
    # Tokens per forward/backward batch: bounds memory. "auto": 4096 on a CPU (about the fastest there), and on
    # a GPU as many as half its free memory holds, measured with one pass at build start (models/memory.py).
    batch_tokens: Union[Auto, Annotated[int, Strict(), Field(ge=16)]] = "auto"
    unk_threshold: Fraction = 0.25  # fraction of [UNK] word pieces above which an explanation is flagged
    seed: Annotated[int, Strict(), Field(ge=0, lt=2**32)] = 0  # numpy's seeds are 32-bit
    device: Literal["auto", "cpu", "cuda"] = "auto"
    # Arithmetic of the forward/backward passes of methods with a completeness check (Integrated Gradients):
    # "bf16" or "fp16" run them in reduced precision, and every example whose check fails is recomputed in fp32.
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    # Examples per chunk: each chunk is computed, written to the bundle (and the cache) and dropped, so memory
    # stays flat in the number of examples; a killed build loses at most the chunk in flight.
    chunk_size: Count = 256
    # Global analyses that need many examples at once (head statistics and importance, layer probes, the
    # projection) run on a seeded sample of this many examples; every other figure uses all of them.
    global_sample: Count = 200
    # Where the costly methods (many passes per example: Integrated Gradients, SmoothGrad, LIME...) run beside a
    # one-pass lead: a seeded sample of this many readable one-window examples, plus every paged example; "all":
    # every example. None: COSTLY_SAMPLE when the methods are the defaults, "all" when they were named
    # (reportgen.build resolves it before the build records it). A costly lead always runs on every example.
    costly_sample: Union[Literal["all"], Count, None] = None


@section
class RecordedSettings:
    """A BuildConfig as the report records it (reportgen.config.bundle_config): paths as written, without the
    output folder, the cache and the engine, so the same inputs give the same bytes anywhere. A test keeps these
    fields and BuildConfig's in step."""

    examples: str
    narrative: Optional[str]
    model: Optional[str]
    theme: str
    title: Optional[str]
    labels: Optional[Names]
    label_map: Optional[tuple[tuple[str, str], ...]]
    trust_remote_code: bool
    single_file: bool
    fail_on: Optional[Literal["info", "warning", "error"]]
    probe_train: Optional[str]
    probe_from: Optional[str]
    force: bool
    pages: Union[Auto, Size]
    compute: ComputeConfig
