"""The only code that knows transformers: load a model and wrap it in one adapter compute/ can use."""

from reportgen.models.adapter import ModelAdapter
from reportgen.models.loader import load_adapter

__all__ = ["ModelAdapter", "load_adapter"]
