"""The reader's language: gettext catalogues managed with Babel (reportgen/locale/<locale>/LC_MESSAGES/reportgen.po,
compiled to .mo beside it; `make catalogues` extracts, updates and compiles), activated for one rendering at a
time. Python code marks a sentence with _() or ngettext() and writes it whole, with named placeholders; templates
use Jinja's i18n extension ({% trans %}, _()). A language is its catalogue: the languages reportgen writes are
English (the source) and every locale with a compiled catalogue, so adding one is a new .po file, compiled."""

from __future__ import annotations

import contextlib
import gettext as _gettext
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from reportgen.errors import ConfigError

DOMAIN = "reportgen"
SOURCE = "en"  # the language the code and templates are written in: no catalogue
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

_ENGLISH = _gettext.NullTranslations()
_active: ContextVar[tuple[str, _gettext.NullTranslations]] = ContextVar("reportgen_language",
                                                                      default=(SOURCE, _ENGLISH))


def available() -> list[str]:
    """The Babel locales reportgen writes: English and every compiled catalogue (e.g. zh_Hans)."""
    return [SOURCE, *sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo"))]


def language(value: str) -> str:
    """A --lang value as the locale of a catalogue: "zh", "zh-Hans", "zh_hans" -> "zh_Hans"; "en" -> "en".
    ConfigError naming the choices otherwise."""
    from babel import Locale, UnknownLocaleError

    locales = available()
    try:
        asked = Locale.parse(value.strip().replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        asked = None
    if asked is not None:
        exact = [loc for loc in locales if Locale.parse(loc) == asked]
        same_language = [loc for loc in locales if Locale.parse(loc).language == asked.language]
        if exact or len(same_language) == 1:
            return (exact or same_language)[0]
    raise ConfigError(f"--lang {value!r}: reportgen writes {', '.join(html_code(loc) for loc in locales)} "
                      "(a language's code alone, such as zh, is enough)")


def html_code(locale: str) -> str:
    """The locale as an HTML lang attribute (BCP 47): zh_Hans -> zh-Hans."""
    return locale.replace("_", "-")


@lru_cache(maxsize=None)
def catalogue(locale: str) -> _gettext.NullTranslations:
    if locale == SOURCE:
        return _ENGLISH
    from babel.support import Translations

    found = Translations.load(str(LOCALE_DIR), [locale], DOMAIN)
    if not isinstance(found, Translations):  # Babel falls back to no translation when the .mo is missing
        raise ConfigError(f"the {locale} catalogue is missing from this installation ({LOCALE_DIR})")
    return found


@contextlib.contextmanager
def activated(locale: str) -> Iterator[None]:
    """Everything rendered inside is in this language (a locale that language() returned)."""
    token = _active.set((locale, catalogue(locale)))
    try:
        yield
    finally:
        _active.reset(token)


def active() -> str:
    return _active.get()[0]


def html_lang() -> str:
    return html_code(active())


def _(message: str) -> str:
    return _active.get()[1].gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    # A finding's parameters may carry a count as text: the catalogue's plural rule needs the number.
    return _active.get()[1].ngettext(singular, plural, int(n))


def N_(message: str) -> str:
    """Marks a message for the catalogue where it is defined (a table row); _() translates it where it is shown."""
    return message
