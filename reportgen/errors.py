"""User-facing errors: each prints one clean line naming the fix, with exit status 2, and no traceback."""

import click


class ReportgenError(click.ClickException):
    exit_code = 2


class InputError(ReportgenError):
    """The examples file, narrative or config is wrong; the message names file:line and the field."""


class ModelLoadError(ReportgenError):
    """The model could not be loaded or does not fit the examples (labels, architecture)."""


class ConfigError(ReportgenError):
    """An option or config value is invalid."""


class ThemeError(ReportgenError):
    """The theme could not be found or is missing a template."""


class FindingsError(ReportgenError):
    """--fail-on: the site was written, but it reports findings at or above the asked severity."""

    exit_code = 3


def first_line(err: BaseException, limit: int = 300) -> str:
    """Another library's exception as one bounded line of an error message."""
    text = str(err).strip()
    return (text.splitlines()[0] if text else type(err).__name__)[:limit]
