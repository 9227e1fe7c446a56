"""Themes: a theme folder overrides any template or static file; the rest falls back to the default."""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, StrictUndefined

from reportgen import i18n
from reportgen.errors import ThemeError
from reportgen.render import formatting
from reportgen.safe_files import inside

log = logging.getLogger(__name__)
DEFAULT_THEME = "default"


def themes_root() -> Path:
    try:
        return Path(str(resources.files("reportgen.themes")))
    except ModuleNotFoundError:  # run from a source checkout that was never installed (PYTHONPATH=checkout)
        return Path(__file__).resolve().parents[2] / "themes"


def available_themes() -> list[str]:
    return sorted(p.name for p in themes_root().iterdir() if (p / "templates").is_dir())


def theme_dirs(theme: str) -> list[Path]:
    """The chosen theme first, then the default theme (the fallback for whatever it leaves out)."""
    default = themes_root() / DEFAULT_THEME
    if theme == DEFAULT_THEME:
        return [default]
    candidate = themes_root() / theme
    if not candidate.is_dir():
        candidate = Path(theme)
    if not candidate.is_dir():
        raise ThemeError(
            f"Unknown theme {theme!r}. Available: {', '.join(available_themes())}, or a folder with templates/"
        )
    return [candidate, default]


def make_environment(dirs: list[Path]) -> Environment:
    env = Environment(
        # A theme's template wins over the default's of the same name; "default/NAME" is always the default
        # theme's, so a theme's base.html can extend it and override only the blocks it changes.
        loader=ChoiceLoader([*(FileSystemLoader(str(d / "templates")) for d in dirs),
                             PrefixLoader({DEFAULT_THEME: FileSystemLoader(str(dirs[-1] / "templates"))})]),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    # Whatever language is active when a page renders (i18n.activated): one environment serves every language.
    env.install_gettext_callables(i18n._, i18n.ngettext, newstyle=True)
    env.policies["ext.i18n.trimmed"] = True  # a {% trans %} block's line breaks are not part of its message
    env.filters["pct"] = formatting.pct
    env.filters["num"] = formatting.num
    env.filters["count"] = formatting.count
    env.filters["interval"] = formatting.interval
    env.filters["signed"] = formatting.signed
    return env


def static_files(dirs: list[Path]) -> dict[str, Path]:
    """Relative path -> source file, the chosen theme's files winning over the default's. A symbolic link that
    leads out of the theme's static/ folder is left out (with a log line): it would publish a file from elsewhere
    on the disk."""
    files: dict[str, Path] = {}
    for directory in reversed(dirs):
        static = directory / "static"
        if static.is_dir():
            for path in sorted(static.rglob("*")):
                if not path.is_file():
                    continue
                if not inside(path, static):
                    log.warning("theme file %s leads out of %s through a symbolic link; left out", path, static)
                    continue
                files[path.relative_to(static).as_posix()] = path
    return files
