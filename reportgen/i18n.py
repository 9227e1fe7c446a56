"""The reader's language: gettext catalogues managed with Babel (reportgen/locale/<locale>/LC_MESSAGES/reportgen.po,
compiled to .mo beside it; `make catalogues` extracts, updates and compiles), activated for one rendering at a
time. Python code marks a sentence with _() or ngettext() and writes it whole, with named placeholders; templates
use Jinja's i18n extension ({% trans %}, _()). Numbers, percentages and dates are formatted by Babel for the
active locale. A language is a catalogue: adding one is a new .po file, compiled (README)."""

from __future__ import annotations

import contextlib
import gettext as _gettext
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from reportgen.errors import ConfigError

DOMAIN = "reportgen"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
# --lang value -> (Babel/gettext locale, the HTML lang attribute). English is the source language: no catalogue.
LANGUAGES = {"en": ("en", "en"), "zh": ("zh_Hans", "zh-Hans")}
ALIASES = {"zh-hans": "zh", "zh_hans": "zh", "zh-cn": "zh", "zh_cn": "zh"}

_ENGLISH = _gettext.NullTranslations()
_active: ContextVar[tuple[str, _gettext.NullTranslations]] = ContextVar("reportgen_language", default=("en", _ENGLISH))


def language(value: str) -> str:
    """A --lang value as reportgen's code ("en", "zh"); ConfigError naming the choices otherwise."""
    code = ALIASES.get(value.strip().lower(), value.strip().lower())
    if code not in LANGUAGES:
        raise ConfigError(f"--lang {value!r}: reportgen writes {', '.join(LANGUAGES)} (zh: Simplified Chinese, "
                          "zh-Hans accepted)")
    return code


@lru_cache(maxsize=None)
def catalogue(code: str) -> _gettext.NullTranslations:
    if code == "en":
        return _ENGLISH
    from babel.support import Translations

    found = Translations.load(str(LOCALE_DIR), [LANGUAGES[code][0]], DOMAIN)
    if not isinstance(found, Translations):  # Babel falls back to no translation when the .mo is missing
        raise ConfigError(f"the {code} catalogue is missing from this installation ({LOCALE_DIR})")
    return found


@contextlib.contextmanager
def activated(code: str) -> Iterator[None]:
    """Everything rendered inside is in this language."""
    token = _active.set((code, catalogue(code)))
    try:
        yield
    finally:
        _active.reset(token)


def active() -> str:
    return _active.get()[0]


def locale() -> str:
    """The active Babel locale."""
    return LANGUAGES[active()][0]


def html_lang() -> str:
    return LANGUAGES[active()][1]


def _(message: str) -> str:
    return _active.get()[1].gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    # A finding's parameters may carry a count as text: the catalogue's plural rule needs the number.
    return _active.get()[1].ngettext(singular, plural, int(n))


def N_(message: str) -> str:
    """Marks a message for the catalogue where it is defined (a table row); _() translates it where it is shown."""
    return message
