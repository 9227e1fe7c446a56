"""The message catalogues: every message marked in the code and the templates has a Chinese translation with the
same placeholders, the compiled .mo files the package ships are the .po files compiled, and rendering in Chinese
changes the language of the pages, not their numbers. A new English string without a translation fails here with
its location: run `make catalogues`, translate it in reportgen/locale/zh_Hans/LC_MESSAGES/reportgen.po."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from reportgen.bundle.declarations import MethodDecl
from reportgen.bundle.typed import parse, plain
from reportgen.i18n import DOMAIN, LOCALE_DIR, SOURCE, available, language

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdfr]")
TRANSLATED = [locale for locale in available() if locale != SOURCE]  # every compiled catalogue


def extracted() -> dict[object, list[str]]:
    """msgid (a tuple for plurals) -> where it is marked, as `make catalogues` extracts them."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found: dict[object, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=DEFAULT_KEYWORDS):
        key = message if isinstance(message, str) else tuple(m for m in message if m)
        found.setdefault(key, []).append(f"{filename}:{lineno}")
    return found


def catalogue(code: str):
    with (LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as handle:
        return read_po(handle)


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_message_has_a_translation_with_the_same_placeholders(code):
    messages = extracted()
    assert len(messages) > 50  # the extraction found the marked code and templates
    translated = {m.id: m.string for m in catalogue(code) if m.id}
    missing = [f"{where[0]}: {msgid!r}" for msgid, where in messages.items()
               if not (translated.get(msgid) if isinstance(msgid, str) else any(translated.get(msgid) or ()))]
    assert missing == [], f"{len(missing)} messages without a {code} translation (make catalogues, then translate)"
    wrong = []
    for msgid, where in messages.items():
        source = msgid if isinstance(msgid, str) else " ".join(msgid)
        target = translated[msgid] if isinstance(msgid, str) else " ".join(s for s in translated[msgid] if s)
        if set(PLACEHOLDER.findall(source)) != set(PLACEHOLDER.findall(target)):
            wrong.append(f"{where[0]}: {msgid!r}")
    assert wrong == [], "placeholders differ between English and the translation"


@pytest.mark.parametrize("code", TRANSLATED)
def test_the_shipped_mo_is_the_po_compiled(code):
    compiled = io.BytesIO()
    write_mo(compiled, catalogue(code))
    shipped = LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.mo"
    assert shipped.read_bytes() == compiled.getvalue(), "run `make catalogues` to compile the .po"


def test_language_codes_resolve_to_their_catalogue():
    from reportgen.errors import ConfigError

    assert TRANSLATED == ["zh_Hans"]
    assert {language(v) for v in ("zh", "zh-Hans", "zh_hans", "ZH")} == {"zh_Hans"} and language("en") == "en"
    with pytest.raises(ConfigError, match="reportgen writes en, zh-Hans"):
        language("fr")


def test_a_chinese_rendering_of_the_golden_bundle(tmp_path):
    from reportgen.api import render_report

    bundle = tmp_path / "data"
    shutil.copytree(ROOT / "tests" / "golden" / "bundle", bundle)
    render_report(bundle, tmp_path / "en")
    render_report(bundle, tmp_path / "zh", lang="zh-Hans")
    zh = (tmp_path / "zh" / "index.html").read_text(encoding="utf-8")
    en = (tmp_path / "en" / "index.html").read_text(encoding="utf-8")
    assert '<html lang="zh-Hans">' in zh and '<html lang="en">' in en
    assert ">概览</a>" in zh and ">Overview</a>" in en and "Overview" not in zh
    assert "将文本分为 2 类：negative, positive。" in zh  # labels stay as written
    # The same bundle, the same numbers: results.json, every example chunk and attention map are byte for byte the
    # same in both languages (data/rows and data/view are the pages' own data, worded in the page's language).
    bundle_files = [p for p in sorted((tmp_path / "en" / "data").rglob("*")) if p.is_file()
                    and p.relative_to(tmp_path / "en" / "data").parts[0] not in ("rows", "view")]
    assert len(bundle_files) > 3
    for path in bundle_files:
        if path.is_file():
            twin = tmp_path / "zh" / path.relative_to(tmp_path / "en")
            assert twin.read_bytes() == path.read_bytes(), path.name


@pytest.mark.parametrize("code", TRANSLATED)
def test_what_each_method_and_metric_declares_is_a_catalogue_message(code):
    """A method's or metric's texts are stored in the bundle in English and translated where they are shown: a text
    formatted in Python (an f-string with a setting in it) would match no message and stay English on a translated
    page. The numbers such a text names are its facts, filled in after translation."""
    from reportgen.compute.methods import METHODS
    from reportgen.compute.metrics import METRICS

    messages = catalogue(code)
    declared = [(name, METHODS.get(name).declaration()) for name in METHODS.names()]
    declared += [(name, METRICS.get(name).declaration()) for name in METRICS.names()]
    for name, decl in declared:
        texts = [decl.title, decl.description] + [getattr(decl, f, "") for f in ("summary", "plain")]
        for text in filter(None, texts):
            found = messages.get(text)
            assert found is not None and found.string, f"{name}: {text[:60]!r} is not a catalogue message"
            worded = getattr(decl, "worded", lambda t: t)
            for side in (text, found.string):
                assert "%(" not in worded(side), f"{name}: a placeholder without a fact in {side[:60]!r}"
        if isinstance(decl, MethodDecl):  # as the pages read it: through the bundle's JSON and back
            stored = parse(MethodDecl, plain(decl), name)
            assert stored.worded(decl.description) == decl.worded(decl.description), name


def test_the_bundle_holds_codes_and_the_pages_word_them(tmp_path):
    """The default title and where the weights came from are stored as data (null; a source and a location) and
    worded by the page in its language; a title the user gave is shown as written, even one that reads like the
    default."""
    import json

    from reportgen.api import render_report

    bundle = tmp_path / "data"
    shutil.copytree(ROOT / "tests" / "golden" / "bundle", bundle)
    results = json.loads((bundle / "results.json").read_text(encoding="utf-8"))
    assert results["title"] is None and results["model"]["loaded_from"] == {"source": "directory", "location": "model"}
    render_report(bundle, tmp_path / "zh", lang="zh")
    zh = (tmp_path / "zh" / "index.html").read_text(encoding="utf-8")
    assert "<title>model 关注什么" in zh and "looks at" not in zh
    assert "本地目录 model" in zh and "local directory" not in zh

    results["title"] = "What the model looks at"
    (bundle / "results.json").write_text(json.dumps(results), encoding="utf-8")
    render_report(bundle, tmp_path / "given", lang="zh")
    assert "<title>What the model looks at" in (tmp_path / "given" / "index.html").read_text(encoding="utf-8")
