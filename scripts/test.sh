#!/usr/bin/env bash
# The whole test suite, Rust and Python: the README's test command.
# Installs the package with its test extras (a release build of the extension), then runs
# clippy (unwrap/expect denied in the library), mypy, the Rust unit tests, and pytest
# against the installed package.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet ".[test,dask,spark]"
cargo clippy --all-targets --features python -- -D warnings
# The Python package's types (type stubs of the extension included).
python3 -m mypy python/
cargo test
# The package sources live under python/, so the import below is the installed build.
python3 -m pytest -q "$@"
