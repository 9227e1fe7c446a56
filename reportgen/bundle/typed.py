"""Typed sections to and from the bundle's JSON: pydantic validates what is read (a tampered or older
results.json is refused with the field named), dataclasses.asdict writes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, is_dataclass
from functools import lru_cache
from typing import Any, TypeVar, dataclass_transform

from pydantic import ConfigDict, TypeAdapter, ValidationError

T = TypeVar("T")
OMIT = {"omit_none": True}  # field metadata: plain() leaves the field out of the JSON where it is None


@dataclass_transform(frozen_default=True)
def section(cls: type[T]) -> type[T]:
    """A frozen dataclass of the bundle that refuses keys it does not declare when read: a renamed or misspelt key
    in a results.json is an error naming it, never a figure silently dropped."""
    cls = dataclass(frozen=True)(cls)
    cls.__pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[attr-defined]
    return cls


@lru_cache(maxsize=None)
def adapter_for(tp: Any) -> TypeAdapter:
    """One pydantic adapter per type, built once (building one is the slow part of validating)."""
    return TypeAdapter(tp)


def parse(tp: type[T] | Any, value: Any, where: str) -> T:
    """value (plain JSON) as tp; ValueError naming where and the first wrong field."""
    try:
        return adapter_for(tp).validate_python(value)
    except ValidationError as err:
        problem = err.errors()[0]
        loc = ".".join(str(p) for p in problem["loc"])
        raise ValueError(f"{where}{'.' + loc if loc else ''}: {problem['msg']}") from None


def plain(value: Any) -> Any:
    """A section as JSON values. Fields declared with metadata {"omit_none": True} are left out where None,
    so records that never had them stay byte-identical."""
    if is_dataclass(value) and not isinstance(value, type):
        out = {}
        for f in fields(value):
            item = getattr(value, f.name)
            if item is None and f.metadata.get("omit_none"):
                continue
            out[f.name] = plain(item)
        return out
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


__all__ = ["asdict", "parse", "plain"]
