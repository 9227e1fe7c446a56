"""Load the narrative: Markdown files with optional YAML front matter (title, order) become site sections."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import yaml

from reportgen.errors import InputError
from reportgen.slugs import slugify
from reportgen.types import NarrativeSection

MAX_FRONT_MATTER = 64 * 1024


class _AliasRefused(Exception):
    def __init__(self, anchor: str, line: int) -> None:
        super().__init__(anchor)
        self.anchor, self.line = anchor, line


class _NoAliasLoader(yaml.SafeLoader):
    """safe_load without aliases: a few hundred bytes of nested aliases (a "billion laughs") would otherwise
    expand until memory runs out. Front matter is a handful of plain keys and never needs them."""

    def compose_node(self, parent, index):  # noqa: ANN001, ANN201 - PyYAML's signature
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _AliasRefused(event.anchor, event.start_mark.line + 2)
        return super().compose_node(parent, index)


def load_narrative(directory: Optional[Path]) -> list[NarrativeSection]:
    if directory is None:
        return []
    if not directory.is_dir():
        raise InputError(f"{directory}: narrative folder not found")
    sections = [_load_section(path) for path in sorted(directory.glob("*.md"))]
    return sorted(sections, key=lambda s: (s.order, s.slug))


def _load_section(path: Path) -> NarrativeSection:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise InputError(f"{path}: not valid UTF-8 ({err.reason}); save the file as UTF-8") from None
    meta: dict = {}
    body = text
    if text.startswith("---"):
        lines = text.splitlines(keepends=True)
        end = next((i for i, line in enumerate(lines[1:], start=1) if line.strip() == "---"), None)
        if end is None:
            raise InputError(f"{path}:1: front matter starts with '---' but has no closing '---'")
        front = "".join(lines[1:end])
        if len(front) > MAX_FRONT_MATTER:
            raise InputError(f"{path}:2: front matter is {len(front):,} characters; at most {MAX_FRONT_MATTER:,} "
                             "(put long text in the body)")
        try:
            meta = yaml.load(front, Loader=_NoAliasLoader) or {}
        except _AliasRefused as err:
            raise InputError(f"{path}:{err.line}: front matter uses a YAML alias (*{err.anchor}); write the value "
                             "out instead (aliases can expand without bound)") from None
        except (yaml.YAMLError, RecursionError) as err:
            line = getattr(getattr(err, "problem_mark", None), "line", 0) + 2
            raise InputError(f"{path}:{line}: front matter is not valid YAML") from None
        if not isinstance(meta, dict):
            raise InputError(f"{path}:2: front matter must be 'key: value' lines")
        body = "".join(lines[end + 1 :])
    title = meta.get("title") or path.stem.replace("-", " ").replace("_", " ").strip().capitalize()
    order = meta.get("order", 100)
    if not isinstance(order, int):
        raise InputError(f"{path}: front matter field 'order' must be an integer")
    plain_meta = {k: v for k, v in meta.items() if isinstance(v, (str, int, float, bool, list))}
    return NarrativeSection(
        slug=slugify(path.stem) or "section", title=str(title), order=order, markdown=body, meta=plain_meta
    )
