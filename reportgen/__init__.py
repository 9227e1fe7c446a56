"""reportgen: explain a BERT-family classifier on annotated examples as a self-contained static site."""

__version__ = "0.1.0"
