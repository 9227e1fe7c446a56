"""The bundle: what compute writes and render reads (typed records and their files). No torch below here."""

from reportgen.bundle.records import SCHEMA_VERSION, ExampleResult, ReportBundle
from reportgen.bundle.store import ExampleStore, load_bundle, save_bundle

__all__ = ["SCHEMA_VERSION", "ExampleResult", "ExampleStore", "ReportBundle", "load_bundle", "save_bundle"]
