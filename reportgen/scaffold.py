"""`reportgen init DIR`: a starter inputs folder (commented examples, narrative with a model card, config)."""

from __future__ import annotations

import json
from pathlib import Path

from reportgen.config import DEFAULT_METHODS, DEFAULT_METRICS
from reportgen.errors import ConfigError

EXAMPLES = """\
# reportgen examples: one JSON object per line (JSON Lines, UTF-8). Lines starting with # are comments.
#
#   id              unique, non-empty string (used in page addresses)
#   text            the text to classify (for NLI: the premise)
#   text_pair       optional second text (for NLI: the hypothesis), or null
#   label           optional gold label; a model without a classification head needs labels of >= 2 classes,
#                   because reportgen then fits a linear probe on the encoder
#   rationale       optional human rationale: character spans [start, end) in text (Python str indices)
#   rationale_pair  the same over text_pair
#   note            optional Markdown shown on the example's page
#
# A CSV file with the same column names works too (spans as JSON in the cell).
{"id": "pos-1", "text": "A warm, funny and beautifully acted film.", "label": "positive", "rationale": [[2, 6], [8, 13], [18, 35]]}
{"id": "neg-1", "text": "The plot is a mess and the jokes fall flat.", "label": "negative", "rationale": [[14, 18], [33, 42]], "note": "Two separate cues: *mess* and *fall flat*."}
{"id": "pos-2", "text": "I would happily watch it again.", "label": "positive", "rationale": [[8, 15]]}
{"id": "neg-2", "text": "Two hours I will never get back.", "label": "negative", "rationale": [[17, 31]]}
{"id": "pos-3", "text": "Clever, tender and surprising.", "label": "positive"}
{"id": "neg-3", "text": "Dull, slow and far too long.", "label": "negative"}
"""

CONFIG = """\
# reportgen configuration: `reportgen build --config {name}/reportgen.toml`, or run `reportgen build` inside
# this folder's parent when it is called inputs/. Paths are relative to this file; command-line options win.
[build]
examples = "examples.jsonl"
narrative = "narrative"
out = "../site"
title = "What the model looks at"
# model = "path/to/model-or-hub-id"   # default: the packaged all-MiniLM-L6-v2 (works offline)
methods = {methods}   # `reportgen methods` lists all
metrics = {metrics}   # `reportgen metrics` lists all; "all" adds the costly ones
target = "predicted"   # or "gold"
# fail_on = "error"    # exit with status 3 when findings of this severity occur (for CI)
# theme = "audit"      # or a folder with templates/ and static/ overriding the default theme

# A method's own options: one table per method (`reportgen methods` lists each method's options).
[methods.integrated_gradients]
steps = "auto"         # steps per example until the convergence delta is within tolerance; or 50: fixed
tolerance = 0.01
"""

MODEL_CARD = """\
---
title: Model card
order: 0
# These fields fill the model card on the overview and model pages; leave out what does not apply.
intended_use: Say what the model is for and who uses it.
out_of_scope: Say what it must not be used for.
limitations: Known weaknesses, data it was not tested on, groups it may treat unequally.
owners: [Your team, someone@example.org]
licence: The model's licence
---
Anything written here appears under the model card: training data, evaluation, contacts.
"""

ABOUT = """\
---
title: About this report
order: 1
---
Why these examples were chosen and what a reader should look for. Markdown: **bold**, *italics*, lists,
links and tables work; raw HTML is removed.
"""


def scaffold(directory: Path) -> list[Path]:
    if directory.is_symlink() or (directory.exists() and not directory.is_dir()):
        raise ConfigError(f"{directory}: exists and is not a folder; name a new folder for the starter files")
    if directory.exists() and any(directory.iterdir()):
        raise ConfigError(f"{directory}: folder exists and is not empty; choose a new folder")
    blocker = next((p for p in directory.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise ConfigError(f"{directory}: {blocker} is a file, not a folder")
    files = {
        directory / "examples.jsonl": EXAMPLES,
        directory / "reportgen.toml": CONFIG.format(name=directory.name, methods=json.dumps(list(DEFAULT_METHODS)),
                                                     metrics=json.dumps(list(DEFAULT_METRICS))),
        directory / "narrative" / "00-model-card.md": MODEL_CARD,
        directory / "narrative" / "01-about.md": ABOUT,
    }
    try:
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"{directory}: cannot write the starter files ({err.strerror or err})") from None
    return list(files)
