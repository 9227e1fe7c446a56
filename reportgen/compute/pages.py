"""Which examples get a full page (attention heatmap and all): the ones a reader most needs to look at.

Every example is in the site's table and opens in the in-page example view; only a full page carries the
attention maps, which cost ~0.1-2 MB each. The rule, in this order, until --pages are chosen:
  1. misclassified, most confident first;
  2. named by an alert (each alert's examples in its own order, alerts in severity order);
  3. least confident;
  4. where two methods disagree most (lowest rank correlation of their word scores);
  5. a seeded sample stratified by gold label (predicted label where there is none).
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any, Sequence

from reportgen.compute.aggregate import DatasetAggregate
from reportgen.compute.findings import SEVERITIES


def choose_pages(aggregate: DatasetAggregate, findings: Sequence[dict[str, Any]], limit: int, seed: int,
                 required: Sequence[str] = ()) -> list[int]:
    """Indices (in example order) of the examples with a full page; all of them when there are at most limit.
    required: slugs that must have one (the model page's thumbnail example)."""
    rows = aggregate.records
    if len(rows) <= limit:
        return list(range(len(rows)))
    index = {r.slug: i for i, r in enumerate(rows)}
    chosen: dict[int, None] = {index[s]: None for s in required if s in index}

    def take(candidates: Sequence[int], share: int = limit) -> None:
        stop = min(limit, len(chosen) + share)
        for i in candidates:
            if len(chosen) >= stop:
                return
            chosen.setdefault(i, None)

    fifth = max(1, limit // 5)

    readable = [i for i, r in enumerate(rows) if not r.unreadable]
    take(sorted((i for i in readable if rows[i].correct is False), key=lambda i: (-rows[i].confidence, i)), fifth)
    alerted = [index[s] for f in sorted(findings, key=lambda f: -SEVERITIES.index(f["severity"]))
               for s in f["examples"] if s in index]
    take(alerted, fifth)
    take(sorted(readable, key=lambda i: (rows[i].confidence, i)), fifth)
    take(sorted((i for i in readable if rows[i].disagreement is not None), key=lambda i: (rows[i].disagreement, i)),
         fifth)
    strata: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        strata[r.label if r.label is not None else r.predicted].append(i)
    rng = random.Random(seed)
    for members in strata.values():
        rng.shuffle(members)
    queues = [strata[k] for k in sorted(strata)]
    while len(chosen) < limit and any(queues):  # round robin over the labels
        for queue in queues:
            if queue:
                take([queue.pop()])
    return sorted(chosen)
