"""The examples in the library's docstrings run and give what they show."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import daec_viz

MODULES = sorted(m.name for m in pkgutil.walk_packages(daec_viz.__path__, "daec_viz.")
                 if ".cli" not in m.name and not m.name.endswith("__main__"))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"


def test_every_public_name_resolves():
    for name in daec_viz.__all__:
        assert getattr(daec_viz, name) is not None, name
