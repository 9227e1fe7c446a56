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

from reportgen.bundle.vocabulary import MAX_AUTO_PAGES, PAGE_BUDGET_MB, SEVERITIES
from reportgen.compute.aggregate import DatasetAggregate


def page_limit(pages: int | str) -> tuple[int, float]:
    """(most pages, byte budget) for --pages: a number is taken as it is; "auto" allows MAX_AUTO_PAGES within
    PAGE_BUDGET_MB of attention maps (each page's maps cost layers x heads x tokens^2 x 2 bytes)."""
    if pages != "auto":
        return int(pages), float("inf")
    return MAX_AUTO_PAGES, PAGE_BUDGET_MB * 1e6


def attention_bytes(cells: int, layers: int, heads: int) -> int:
    """float16 maps of every layer and head: cells = tokens^2 (summed over a long text's windows)."""
    return layers * heads * cells * 2


def choose_pages(aggregate: DatasetAggregate, findings: Sequence[dict[str, Any]], pages: int | str, seed: int,
                 layers: int, heads: int, required: Sequence[str] = ()) -> list[int]:
    """Indices of the examples with a full page, most needed first (the order of the rule above; every example when
    all fit). required: slugs that must have one (the model page's thumbnail example)."""
    rows = aggregate.records
    limit, budget = page_limit(pages)
    cost = [attention_bytes(r.cells, layers, heads) for r in rows]
    if len(rows) <= limit and sum(cost) <= budget:
        return list(range(len(rows)))
    index = {r.slug: i for i, r in enumerate(rows)}
    chosen: dict[int, None] = {index[s]: None for s in required if s in index}
    spent = [sum(cost[i] for i in chosen)]

    def take(candidates: Sequence[int], share: int = limit) -> None:
        stop = min(limit, len(chosen) + share)
        for i in candidates:
            if len(chosen) >= stop:
                return
            if i not in chosen and spent[0] + cost[i] <= budget:  # a page that does not fit is passed over
                chosen[i] = None
                spent[0] += cost[i]

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
    while len(chosen) < limit and any(queues) and spent[0] < budget:  # round robin over the labels
        for queue in queues:
            if queue:
                take([queue.pop()])
    return list(chosen)
