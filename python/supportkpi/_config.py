"""Configuration as data: taxonomy, bands and owners, windows, scales, cost model, rules.

The engine owns the schema: every document is merged into the defaults and checked in Rust,
so unknown keys and bad values raise ``ConfigError`` naming the key path.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import _supportkpi as _native
from ._supportkpi import ConfigError


def default_config() -> dict[str, Any]:
    """The default configuration (SPEC §4, §6, §7) as a dict.

    Example:
        >>> import supportkpi as sk
        >>> cfg = sk.default_config()
        >>> cfg["bands"]["csat_mean"]  # doctest: +NORMALIZE_WHITESPACE
        {'shape': 'higher_is_better', 'healthy_min': 4.3, 'watch_min': 4.0, 'owner': 'support lead',
         'min_sample': 30}
        >>> cfg["windows"]["recovery"]
        '7d'
    """
    return json.loads(_native.config_default_json())


def _looks_like_a_path(text: str) -> bool:
    """One line that no TOML or JSON document could be: a document with any setting has an
    ``=`` (TOML), a ``[`` table header or a ``{`` (JSON); a comment starts with ``#``."""
    line = text.strip()
    return (
        bool(line)
        and "\n" not in line
        and not line.startswith("#")
        and not any(c in line for c in "=[{")
    )


def _read_source(source: str | os.PathLike[str]) -> str:
    """A path's text, or the string itself when it is a document. A string that can only be
    a path must name an existing file (else it would be parsed as a broken document)."""
    if isinstance(source, os.PathLike):
        path = Path(source)
    elif "\n" not in source and len(source) < 4096 and Path(source).is_file():
        path = Path(source)
    elif _looks_like_a_path(source):
        raise ConfigError(f"config: no such file: {source}")
    else:
        return source
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"config: cannot read {path}: {error.strerror or error}") from error
    except UnicodeDecodeError as error:
        raise ConfigError(f"config: {path} is not UTF-8 text: {error}") from error


#: Deeper than any configuration nests (rules are four levels down); checked before
#: recursing so a hostile document raises a ConfigError, not a RecursionError.
_MAX_CONFIG_DEPTH = 32


def _check_finite(value: Any, path: str = "", depth: int = 0) -> None:
    """JSON has no NaN or infinity, so catch them here and name the key path."""
    if depth > _MAX_CONFIG_DEPTH:
        raise ConfigError(f"{path or 'config'}: nested more than {_MAX_CONFIG_DEPTH} levels deep")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{path or 'config'}: {value} is not a finite number")
    if isinstance(value, Mapping):
        for key, item in value.items():
            _check_finite(item, f"{path}.{key}" if path else str(key), depth + 1)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_finite(item, f"{path}[{i}]", depth + 1)


def to_json_document(data: Mapping[str, Any]) -> str:
    """A config dict as strict JSON, with non-finite numbers reported by key path."""
    _check_finite(data)
    return json.dumps(dict(data), allow_nan=False)


class Config:
    """A checked configuration: the defaults overridden by what the document names.

    Example:
        >>> import supportkpi as sk
        >>> cfg = sk.Config({"bands": {"csat_mean": {"healthy_min": 4.5}}})
        >>> cfg.to_dict()["bands"]["csat_mean"]["healthy_min"]
        4.5
        >>> cfg.to_dict()["bands"]["csat_mean"]["watch_min"]  # untouched default
        4.0
        >>> sk.Config.from_toml(cfg.to_toml()) == cfg
        True
    """

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        resolved = _native.config_resolve(to_json_document(data or {}), "json")
        self._data: dict[str, Any] = json.loads(resolved)

    @classmethod
    def from_toml(cls, source: str | os.PathLike[str]) -> Config:
        """From a TOML file path or TOML text.

        Example:
            >>> import supportkpi as sk
            >>> cfg = sk.Config.from_toml('''
            ... [rules.slow_first_response]
            ... when = ["frt_median > 60"]
            ... symptom = "first replies slower than an hour"
            ... ''')
            >>> cfg.to_dict()["rules"]["slow_first_response"]["enabled"]
            True
        """
        return cls._from(_native.config_resolve(_read_source(source), "toml"))

    @classmethod
    def from_json(cls, source: str | os.PathLike[str]) -> Config:
        """From a JSON file path or JSON text.

        Example:
            >>> import supportkpi as sk
            >>> cfg = sk.Config.from_json('{"windows": {"recovery": "3d"}}')
            >>> cfg.to_dict()["windows"]["recovery"]
            '3d'
        """
        return cls._from(_native.config_resolve(_read_source(source), "json"))

    @classmethod
    def _from(cls, resolved_json: str) -> Config:
        config = cls.__new__(cls)
        config._data = json.loads(resolved_json)
        return config

    def to_dict(self) -> dict[str, Any]:
        """The whole configuration as a dict (a copy).

        Example:
            >>> import supportkpi as sk
            >>> sorted(sk.Config().to_dict())  # doctest: +NORMALIZE_WHITESPACE
            ['bands', 'cost_model', 'limits', 'rules', 'scales', 'statistics', 'taxonomy',
             'timestamps', 'windows']
        """
        return copy.deepcopy(self._data)

    def to_toml(self) -> str:
        """The whole configuration as TOML text.

        Example:
            >>> import supportkpi as sk
            >>> "[bands.csat_mean]" in sk.Config().to_toml()
            True
        """
        return _native.config_to_toml(json.dumps(self._data))

    def to_json(self) -> str:
        """The whole configuration as JSON text.

        Example:
            >>> import json, supportkpi as sk
            >>> json.loads(sk.Config().to_json())["scales"]["csat"]
            {'min': 1.0, 'max': 5.0}
        """
        return json.dumps(self._data, indent=2)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Config) and other._data == self._data

    def __repr__(self) -> str:
        return (
            f"Config(bands={len(self._data['bands'])}, rules={len(self._data['rules'])}, "
            f"intents={len(self._data['taxonomy'])})"
        )


def config_document(config: Config | Mapping[str, Any] | str | os.PathLike[str] | None) -> Any:
    """What the engine gets for ``config=``: a (partial) document, merged there, with
    holidays given by country resolved to dates."""
    if config is None:
        return None
    if isinstance(config, Config):
        return resolve_holiday_countries(config.to_dict())
    if isinstance(config, Mapping):
        _check_finite(config)
        return resolve_holiday_countries(dict(config))
    text_or_path = os.fspath(config)
    if str(text_or_path).lower().endswith(".json"):
        return resolve_holiday_countries(Config.from_json(config).to_dict())
    return resolve_holiday_countries(Config.from_toml(config).to_dict())


@functools.lru_cache(maxsize=32)
def _country_holidays(country: str, subdiv: str | None, first: int, last: int) -> tuple[str, ...]:
    try:
        import holidays
    except ImportError as error:
        raise ConfigError(
            "holidays by country need the holidays package: pip install 'supportkpi[holidays]'"
        ) from error
    try:
        dates = holidays.country_holidays(country, subdiv=subdiv, years=range(first, last + 1))
    except NotImplementedError as error:
        where = country if subdiv is None else f"{country}/{subdiv}"
        raise ConfigError(f"holidays: unknown country or subdivision {where!r}") from error
    return tuple(sorted(d.isoformat() for d in dates))


def resolve_holiday_countries(document: dict[str, Any]) -> dict[str, Any]:
    """Holidays given as ``{"country": "US", "subdiv": "NY"}`` become the country's public
    holidays as dates (SPEC §9.1), through the ``holidays`` package, for the years of the
    plausible timestamp range (``timestamps``; 2000-2100 by default).

    Example:
        >>> doc = {"calendars": {"default": {"tz": "America/New_York",
        ...        "holidays": {"country": "US", "subdiv": "NY"}}}}
        >>> dates = resolve_holiday_countries(doc)["calendars"]["default"]["holidays"]
        >>> "2024-07-04" in dates and "2024-12-25" in dates
        True
    """
    calendars = document.get("calendars")
    if not isinstance(calendars, Mapping):
        return document
    stamps = document.get("timestamps") or {}
    first = int(str(stamps.get("earliest", "2000"))[:4])
    last = int(str(stamps.get("latest", "2100"))[:4])
    resolved = {}
    for name, spec in calendars.items():
        holidays = spec.get("holidays") if isinstance(spec, Mapping) else None
        if isinstance(holidays, Mapping) and "country" in holidays:
            try:
                dates = _country_holidays(
                    str(holidays["country"]), holidays.get("subdiv"), first, last
                )
            except ConfigError as error:
                raise ConfigError(f"calendars.{name}.holidays: {error}") from error
            spec = {**spec, "holidays": list(dates)}
        resolved[name] = spec
    return {**document, "calendars": resolved}
