"""Every export of the native module is used by the Python package (as datafusion-python
checks): an export nothing calls is dead code kept alive by the stub file alone."""

from __future__ import annotations

import re
from pathlib import Path

import supportkpi
from supportkpi import _supportkpi as native

PACKAGE = Path(supportkpi.__file__).parent


def test_every_native_export_is_used_by_the_package():
    sources = "\n".join(
        path.read_text(encoding="utf-8")
        for path in PACKAGE.glob("*.py")
        if path.name != "_supportkpi.pyi"
    )
    exports = [name for name in native.__dict__ if not name.startswith("_")]
    assert "prepare_inputs" in exports and "merge_states" in exports
    unused = [
        name
        for name in exports
        # Used as _native.NAME (a call, a type), named in the docs as
        # supportkpi._supportkpi.NAME, or imported by name from the native module.
        if not re.search(
            rf"\b_native\.{name}\b|\b_supportkpi\.{name}\b|_supportkpi import[^\n]*\b{name}\b",
            sources,
        )
    ]
    assert unused == [], f"native exports no Python code uses: {unused}"


def test_the_stub_lists_exactly_the_native_exports():
    stub = (PACKAGE / "_supportkpi.pyi").read_text(encoding="utf-8")
    listed = set(re.findall(r'^    "(\w+)",$', stub, flags=re.M))
    exports = {name for name in native.__dict__ if not name.startswith("__")} | {"__version__"}
    assert listed == exports
