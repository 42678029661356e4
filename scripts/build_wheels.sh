#!/usr/bin/env bash
# Builds what `pip install supportkpi` installs, into dist/ (or the directory given):
#   - the abi3 wheel (cp311-abi3: one wheel for CPython 3.11 and every later version) for
#     this platform, release build, linked by zig against glibc 2.17 (manylinux2014), so it
#     installs on any x86-64 Linux of the last decade, not only on ones as new as this
#     machine (built with the system linker, the wheel would need glibc 2.34);
#   - the sdist (builds from source where no wheel fits; needs a Rust toolchain).
# Then checks the wheel with `auditwheel show`: its platform tag must be a manylinux tag
# auditwheel agrees with (the extension links only the system libraries that policy allows).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-dist}"
python3 -m pip install --quiet "maturin>=1.9.4,<2" "auditwheel>=6" "ziglang>=0.11"
rm -rf "$out"
mkdir -p "$out"
python3 -m maturin build --release --zig --compatibility manylinux2014 --out "$out" --quiet
python3 -m maturin sdist --out "$out"
for wheel in "$out"/*.whl; do
    name="$(basename "$wheel")"
    case "$name" in
        *-cp311-abi3-manylinux*.whl) ;;
        *) echo "build_wheels: $name is not a cp311-abi3 manylinux wheel" >&2; exit 1 ;;
    esac
    report="$(python3 -m auditwheel show "$wheel")"
    echo "$report"
    # "... is consistent with the following platform tag: "manylinux_2_34_x86_64"." (the
    # report wraps its lines)
    tag="$(tr '\n' ' ' <<<"$report" \
        | sed -n 's/.*consistent *with *the *following *platform *tag: *"\([^"]*\)".*/\1/p')"
    if [[ -z "$tag" || "$name" != *"$tag"* ]]; then
        echo "build_wheels: auditwheel does not accept the tag of $name (it says: ${tag:-none})" >&2
        exit 1
    fi
done
ls -l "$out"
