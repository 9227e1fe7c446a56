"""Names and thresholds that compute writes into the bundle and render reads back, defined once here."""

from __future__ import annotations

IG_RELATIVE_DELTA_WARN = 0.05  # |delta| above 5% of |f(x) - f(baseline)|: the integral is not resolved

# Per-head attention statistics (Clark et al. 2019) in summary.global_analysis.heads, and the pattern types.
STATS = ("to_cls", "to_sep", "to_punct", "to_self", "to_prev", "to_next", "distance", "entropy")
STAT_TITLES = {
    "to_cls": "Attention to [CLS]", "to_sep": "Attention to [SEP]", "to_punct": "Attention to punctuation",
    "to_self": "Attention to the token itself", "to_prev": "Attention to the previous token",
    "to_next": "Attention to the next token", "distance": "Mean attention distance (tokens)",
    "entropy": "Attention entropy (nats)",
}
PATTERNS = ("vertical", "diagonal", "vertical+diagonal", "block", "heterogeneous")

# Which examples get a full page (compute/pages.py applies it; the site states it).
PAGES_RULE = ("misclassified (most confident first), then examples named by an alert, then the least confident, "
              "then those where two methods disagree most, then a seeded sample stratified by label")
# --pages auto: at most this many full pages, within this many MB of float16 attention maps.
MAX_AUTO_PAGES = 300
PAGE_BUDGET_MB = 40.0
