"""Turn example ids into safe, unique, stable file names (never a path: no '/', no '..')."""

from __future__ import annotations

import re
import unicodedata
from typing import Iterable

_UNSAFE = re.compile(r"[^a-z0-9_-]+")
# Device names Windows refuses as a file name with any extension (con.html, aux.npy): a site checked out or unzipped
# there would lose those pages. Slugs are lower-case ASCII without dots, so case and trailing dots cannot collide.
_WINDOWS_RESERVED = frozenset(["con", "prn", "aux", "nul", *(f"com{n}" for n in range(10)),
                               *(f"lpt{n}" for n in range(10))])


def slugify(text: str, max_length: int = 60) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    slug = _UNSAFE.sub("-", ascii_text).strip("-_")[:max_length].strip("-_")
    return f"{slug}-id" if slug in _WINDOWS_RESERVED else slug


def unique_slugs(ids: Iterable[str]) -> list[str]:
    slugs: list[str] = []
    used: set[str] = set()
    for n, ex_id in enumerate(ids, start=1):
        base = slugify(ex_id) or f"example-{n}"
        slug, k = base, 2
        while slug in used:
            slug = f"{base}-{k}"
            k += 1
        used.add(slug)
        slugs.append(slug)
    return slugs
