#!/usr/bin/env bash
# Installs the built wheel into fresh virtual environments WITHOUT a Rust toolchain on PATH
# and runs the smoke suite in each (the demo, the differential test against the pandas
# reference, the input-format and result-format tests):
#   floors  CPython 3.11, numpy 1.26.0, pandas 2.2.0, pyarrow 14.0.0, polars 1.3.0,
#           duckdb 1.1.0 (the lowest versions pyproject.toml and its extras allow)
#   newest  CPython 3.13 (the newest here), the newest numpy, pandas, pyarrow, polars, duckdb
# Usage: scripts/wheel_matrix.sh [dist-dir]   (after scripts/build_wheels.sh)
# Prints the wheel's size, each environment's install time and versions, and fails when a
# leg fails.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
dist="${1:-dist}"
wheel="$(ls "$dist"/supportkpi-*-cp311-abi3-manylinux*.whl | head -1)"
version="$(basename "$wheel" | cut -d- -f2)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "wheel: $(basename "$wheel"), $(du -k "$wheel" | cut -f1) KB"

# PATH without cargo, rustc or rustup: the wheel must install and run without them.
no_rust_path() {
    local kept=() dir
    IFS=: read -ra dirs <<<"$PATH"
    for dir in "${dirs[@]}"; do
        [[ -x "$dir/cargo" || -x "$dir/rustc" || -x "$dir/rustup" ]] && continue
        kept+=("$dir")
    done
    (IFS=:; echo "${kept[*]}")
}

# An interpreter of version $1: pyenv's when installed, else the one on PATH.
interpreter() {
    local candidate
    for candidate in "$HOME"/.pyenv/versions/"$1".*/bin/python"$1"; do
        [[ -x "$candidate" ]] && { echo "$candidate"; return; }
    done
    command -v "python$1"
}

leg() {
    local name="$1" python
    python="$(interpreter "$2")"
    shift 2
    local venv="$work/$name" start end
    echo "== $name: $("$python" --version 2>&1), pins: $*"
    "$python" -m venv "$venv"
    start=$(date +%s)
    env PATH="$venv/bin:$(no_rust_path)" CARGO_HOME=/nonexistent RUSTUP_HOME=/nonexistent \
        "$venv/bin/python" -m pip install --quiet "$wheel" "$@" "pytest>=8" "hypothesis>=6.100"
    end=$(date +%s)
    echo "$name: installed in $((end - start)) s"
    (
        cd "$repo"
        export PATH="$venv/bin:$(no_rust_path)" CARGO_HOME=/nonexistent RUSTUP_HOME=/nonexistent
        if command -v cargo >/dev/null || command -v rustc >/dev/null; then
            echo "$name: a Rust toolchain is still on PATH" >&2
            exit 1
        fi
        python -c "import numpy, pandas, pyarrow, polars, duckdb, supportkpi as sk; \
print('$name:', 'supportkpi', sk.__version__, sk.__file__.split('/site-packages/')[0]); \
print('$name:', 'numpy', numpy.__version__, 'pandas', pandas.__version__, \
'pyarrow', pyarrow.__version__, 'polars', polars.__version__, 'duckdb', duckdb.__version__)"
        test "$(supportkpi --version)" = "supportkpi $version"
        supportkpi demo --out-dir "$work/$name-demo" >"$work/$name-demo.txt"
        grep -q "with 95% intervals" "$work/$name-demo.txt"
        python -m pytest -q -p no:cacheprovider tests/test_differential.py \
            tests/test_input_formats.py tests/test_result_formats.py
    )
    echo "$name: passed"
}

leg floors 3.11 "numpy==1.26.0" "pandas==2.2.0" "pyarrow==14.0.0" "polars==1.3.0" \
    "duckdb==1.1.0"
leg newest 3.13 --upgrade numpy pandas pyarrow polars duckdb
