"""compute_bundle(): predictions, attention, attribution methods and summaries, batched over examples."""
