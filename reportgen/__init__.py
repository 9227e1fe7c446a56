"""reportgen: explain a BERT-family classifier on annotated examples as a self-contained static site.

The Python API (reportgen.api) is imported on first use, so `import reportgen` stays as light as the CLI's --help.
"""

from typing import Any

__version__ = "0.1.0"
__all__ = ["Finding", "Report", "__version__", "build_report", "render_report"]


def __getattr__(name: str) -> Any:
    if name in ("Finding", "Report", "build_report", "render_report"):
        from reportgen import api

        return getattr(api, name)
    raise AttributeError(f"module 'reportgen' has no attribute {name!r}")
