"""Shared test setup: make the helper modules in tests/ (datagen, reference_pandas)
importable whatever pytest's import mode."""

import pathlib
import sys

_TESTS = str(pathlib.Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)
