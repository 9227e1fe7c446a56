"""Packages are discovered, not listed: a module added under reportgen/ ships without editing anything here.

themes/ lives at the top level (a theme author edits it without touching code) and ships inside the wheel as
reportgen.themes, so an installed reportgen finds its default theme. setuptools' `find` in pyproject.toml cannot
add packages mapped from another folder, hence this file; everything else is declared in pyproject.toml. A
theme's folders (templates/, static/, ...) are data-only namespace packages, listed so their files ship.
"""

from setuptools import find_namespace_packages, find_packages, setup

THEMES = ["reportgen.themes", *(f"reportgen.themes.{name}" for name in find_namespace_packages(where="themes"))]

setup(
    packages=[*find_packages(include=["reportgen", "reportgen.*"]), *THEMES],
    package_dir={"reportgen": "reportgen", "reportgen.themes": "themes"},
)
