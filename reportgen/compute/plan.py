"""The cost-aware plan: which methods explain every example and which explain a sample.

The lead explains every example. When it takes one pass per example (AttnLRP, wherever the architecture table
places its rules), the costly methods beside it (Integrated Gradients and every other path or sampling method:
MethodDecl.costly) run on a seeded sample of readable one-window examples, the verdict's, and on the most needed
paged examples outside it (vocabulary.PAGED_COSTLY, added by the pipeline once the pages are chosen). So IG's
convergence, its rank agreement with the lead and the comparison of their faithfulness still come out for the data
set, from a sample that states its size. A costly lead (no one-pass method applies to the model) runs on every
example, as every method does with --costly-sample all."""

from __future__ import annotations

import hashlib
from typing import Any, Sequence, Union

from reportgen.bundle.declarations import MethodDecl, lead_method
from reportgen.bundle.vocabulary import VERDICT_EXAMPLES


def sampled_methods(methods: Sequence[MethodDecl], costly_sample: Union[str, int, None]) -> list[MethodDecl]:
    """The methods that run on the sample only; none when every method runs on every example."""
    lead = lead_method(methods)
    if not isinstance(costly_sample, int) or lead is None or lead.costly:
        return []
    return [m for m in methods if m.costly]


def plan_sample(methods: Sequence[MethodDecl], costly_sample: Union[str, int, None], single: Sequence[bool],
                seed: int) -> tuple[list[int], bool]:
    """The verdict's sample and whether the costly methods run on it alone: then it has --costly-sample's size
    (the lead and IG compared on the same examples), else VERDICT_EXAMPLES."""
    sampled = bool(sampled_methods(methods, costly_sample))
    size = costly_sample if sampled else VERDICT_EXAMPLES
    return verdict_sample(single, seed, size), sampled  # type: ignore[arg-type]


def verdict_sample(single: Sequence[bool], seed: int, size: int = VERDICT_EXAMPLES) -> list[int]:
    """A seeded sample of the readable one-window examples (their maps are one model input, as the removal metrics
    need), in example order: the verdict's examples and the costly methods'."""
    pool = [i for i, ok in enumerate(single) if ok]
    if len(pool) <= size:
        return pool
    # The examples whose seeded hash is smallest: examples appended to the file later displace only the members
    # they outrank, so the cached parts of a sampled method stay valid for every chunk whose members stayed.
    # seed + 1: a draw of its own, not the global analyses' sample (random.Random(seed) in the pipeline).
    return sorted(sorted(pool, key=lambda i: hashlib.sha256(f"{seed + 1}:{i}".encode()).digest())[:size])


def plan_summary(methods: Sequence[MethodDecl], sample: Sequence[int], paged: int, of: int,
                 seed: int) -> dict[str, Any]:
    """Summary.plan of a build whose costly methods ran on a sample (sampled_methods is not empty)."""
    lead = lead_method(methods)
    return {"lead": lead.name if lead else None, "every": [m.name for m in methods if not m.costly],
            "sampled": [m.name for m in methods if m.costly], "sample": len(sample), "paged": paged, "of": of,
            "seed": seed + 1}
