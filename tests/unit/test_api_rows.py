"""The Python API's examples: what it accepts besides a path, without pandas or datasets being dependencies."""

from __future__ import annotations

import math

import pytest

from reportgen.api import _plain_row, _rows
from reportgen.errors import InputError


class FakeDataset:
    """What reportgen reads of a Hugging Face datasets.Dataset: features and to_list()."""

    features = {"text": "string", "label": "string"}

    def to_list(self):
        return [{"text": "a good film", "label": "positive"}, {"text": "dull", "label": None}]


def test_a_dataset_a_list_and_their_missing_cells():
    rows, where = _rows(FakeDataset())
    assert where == "Dataset" and [_plain_row(r) for r in rows] == [
        {"text": "a good film", "label": "positive"}, {"text": "dull"}]
    rows, where = _rows(iter([{"text": "x", "label": math.nan}]))
    assert where == "examples" and [_plain_row(r) for r in rows] == [{"text": "x"}]


@pytest.mark.parametrize("value, message", [({"text": "one dict"}, "expected a file path, a list of dicts"),
                                            (5, "expected a file path, a list of dicts"),
                                            ([{"text": "ok"}, "not a dict"], "examples row 2: expected a dict")])
def test_what_is_not_rows_is_one_line(value, message):
    with pytest.raises(InputError, match=message):
        _rows(value)
