"""Names and thresholds that compute writes into the bundle and render reads back, defined once here. No prose:
render/wording.py says what they mean."""

from __future__ import annotations

SEVERITIES = ("info", "warning", "error")  # a finding's severity, least severe first (compute ranks, render orders)
IG_RELATIVE_DELTA_WARN = 0.05  # |delta| above 5% of |f(x) - f(baseline)|: the integral is not resolved

# Per-head attention statistics (Clark et al. 2019) in summary.global_analysis.heads, and the pattern types
# (render/wording.py words them).
STATS = ("to_cls", "to_sep", "to_punct", "to_self", "to_prev", "to_next", "distance", "entropy")
PATTERNS = ("vertical", "diagonal", "vertical+diagonal", "block", "heterogeneous")

# --pages auto: at most this many full pages, within this many MB of float16 attention maps.
MAX_AUTO_PAGES = 300
PAGE_BUDGET_MB = 40.0

# Intervals (compute/intervals.py): their level, and the bootstrap's resamples and seed (fixed: same bytes on a
# rebuild).
INTERVAL_LEVEL = 0.95
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 0

# The verdict on the highlights (compute/verdict.py): when the build did not compute comprehensiveness and
# sufficiency on every example, they are computed for the lead method and random scores on a seeded sample of
# this many examples (about 40 short forward passes each).
VERDICT_EXAMPLES = 100
# The costly methods' sample beside a one-pass lead (--costly-sample): the verdict's sample, so the lead and
# Integrated Gradients are compared on the same examples.
COSTLY_SAMPLE = VERDICT_EXAMPLES
# ... and the paged examples outside that sample the costly methods also explain, most needed first
# (misclassified, alerted, least confident: compute/pages.py), so a small data set whose every example has a page
# is not explained twice over.
PAGED_COSTLY = 25
