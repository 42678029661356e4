"""The package's version, from its installed metadata (``pip show supportkpi``).

Read without importing the extension, so ``supportkpi --version`` answers even when the
compiled engine cannot load.
"""

from __future__ import annotations


def package_version(fallback: str = "unknown") -> str:
    """The installed distribution's version; ``fallback`` from a source tree without it.

    Example:
        >>> import supportkpi as sk
        >>> package_version() == sk.__version__
        True
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("supportkpi")
    except PackageNotFoundError:
        return fallback
