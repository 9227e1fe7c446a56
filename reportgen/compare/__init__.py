"""`reportgen compare OLD NEW`: two built reports of the same examples, compared from their bundles alone (no model,
no torch): predictions (McNemar, a bootstrap interval on the accuracy difference), flips, how far the explanations
moved, what each model relies on, quality figures side by side, alerts new and gone; a site and
data/comparison.json, and a gate for CI (--fail-on)."""
