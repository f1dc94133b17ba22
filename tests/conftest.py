from __future__ import annotations

import pytest

from sekispe.search.index import reset_index


@pytest.fixture(autouse=True)
def _fresh_search_index():
    """Each test starts with no in-memory index, so it never sees another test's rows."""
    reset_index()
    yield
    reset_index()
