"""The methods page's "Reproduce or extend" box: the one place a reader meets command-line options. The rest of the
site says what was done in words; this box says which option does it, for what this build left out or could
change, read from the settings the report records."""

from __future__ import annotations

from reportgen.bundle import ReportBundle
from reportgen.i18n import _


def reproduce_tips(bundle: ReportBundle) -> list[tuple[str, str]]:
    """(what a reader may want, the option that does it), for this build."""
    compute, s, m = bundle.config.compute, bundle.summary, bundle.model
    tips = []
    if not any(meth.reference for meth in bundle.methods) or not s.metrics:
        tips.append((_("Measure every method's faithfulness on every example, against random scores"),
                     "--methods all --metrics all (costly), or add random to --methods and name the metrics in "
                     "--metrics"))
    for name, conv in s.convergence.items():
        decl = next(meth for meth in bundle.methods if meth.name == name)
        option = decl.completeness.steps_option if decl.completeness else None
        if conv.flagged and option:
            tips.append((_("Give %(method)s more steps where it did not converge") % {"method": decl.title},
                         f"{option} N"))
    if m.probe is not None and m.probe.scheme != "train_file":
        tips.append((_("Fit the probe on a training file of its own instead of cross-fitting it here"),
                     "--probe-train FILE"))
    if m.probe is not None:
        tips.append((_("Add examples later and compute only the new ones, with the same probes"),
                     "--probe-from THIS_SITE"))
    if s.plan is not None:
        titles = ", ".join(meth.title for meth in bundle.methods if meth.name in s.plan.sampled)
        tips.append((_("Explain every example with %(methods)s too, not a sample (slower)") % {"methods": titles},
                     "--costly-sample all"))
    if compute.global_analysis and s.global_analysis is not None and s.global_analysis.sample.size < \
            s.global_analysis.sample.of:
        tips.append((_("Run the global analyses on more examples"), "--global-sample N"))
    if not compute.sanity_examples:
        tips.append((_("Check that each method's map depends on the model's weights (randomisation sanity check)"),
                     "--sanity N"))
    if compute.precision == "fp32":
        tips.append((_("Run the costly methods faster on a GPU (examples whose check fails are redone in fp32)"),
                     "--precision bf16"))
    tips.append((_("Read only the first window of long texts instead of every window"), "--long-inputs truncate")
                if compute.long_inputs == "window" else
                (_("Read long texts in overlapping windows instead of cutting them"), "--long-inputs window"))
    return tips
