"""Type stubs of the native module (checked against the build with mypy.stubtest)."""

from typing import Any, final

__all__ = [
    "ConfigError",
    "DataError",
    "SchemaError",
    "SupportKpiError",
    "__version__",
    "combine_states",
    "config_default_json",
    "config_resolve",
    "config_to_toml",
    "band_regions_json",
    "kpi_catalog_json",
    "merge_states",
    "prepare_inputs",
    "read_parquet_table",
    "PARTIAL_FORMAT_VERSION",
    "PreparedInputs",
    "ScorecardResult",
]
__version__: str
PARTIAL_FORMAT_VERSION: int

class SupportKpiError(ValueError):
    """Base class of every supportkpi error."""

class SchemaError(SupportKpiError):
    """A required column is missing or a column has the wrong type."""

class DataError(SupportKpiError):
    """A value breaks the input contract (duplicate ids, out-of-range scores, ...)."""

class ConfigError(SupportKpiError):
    """A bad argument or configuration value."""

@final
class ScorecardResult:
    """A computed scorecard: its tables, skipped KPIs, as_of, row audit and view options."""

    @property
    def table(self) -> Any:
        """The long table (pyarrow)."""

    @property
    def bands(self) -> Any:
        """The bands table (pyarrow)."""

    @property
    def diagnostics(self) -> Any:
        """The diagnostics table (pyarrow)."""

    @property
    def skipped(self) -> list[tuple[str, str]]:
        """(KPI id, reason) of the KPIs left out."""

    @property
    def as_of(self) -> int | None:
        """The as_of used (UTC µs)."""

    @property
    def row_audit_json(self) -> str:
        """Rows read, used and dropped per table (JSON)."""

    @property
    def options_json(self) -> str:
        """The options of the view (JSON)."""

@final
class PreparedInputs:
    """Inputs read, validated and joined once."""

    @property
    def as_of(self) -> int | None:
        """The as_of used (UTC µs)."""

    def scorecard(self, view_json: str) -> ScorecardResult:
        """A scorecard view."""

    def scorecards(self, views_json: str) -> list[ScorecardResult]:
        """Several views (a JSON list of what ``scorecard`` takes), in order."""

    def partial(self, view_json: str) -> bytes:
        """The partial state of a view."""

    def enrich(self) -> Any:
        """The per-contact view as a pyarrow.Table."""

def combine_states(states: list[bytes]) -> bytes:
    """Partial states merged into one partial state."""

def merge_states(states: list[bytes], sessions: Any | None, events: Any | None) -> ScorecardResult:
    """Partial states merged into a scorecard (its options are those the states carry)."""

def prepare_inputs(
    contacts: Any, orders: Any, sessions: Any | None, events: Any | None, options_json: str
) -> PreparedInputs:
    """Reads, validates and joins the inputs once (Arrow streams, or on-demand sources with
    ``schema``, ``num_rows`` and ``read_column(name)``)."""

def read_parquet_table(files: list[str], schema: Any) -> Any | None:
    """Columns of Parquet files as one pyarrow.Table, decoded in the engine's own thread
    pool, each of its type in ``schema``; None when a column cannot be given so."""

def kpi_catalog_json() -> str:
    """The KPI catalogue as JSON."""

def band_regions_json(band_json: str) -> str:
    """The value ranges (JSON) of a band given as a config writes it (JSON)."""

def config_default_json() -> str:
    """The default configuration as JSON."""

def config_resolve(text: str, format: str) -> str:
    """A (partial) configuration merged into the defaults and checked, as JSON."""

def config_to_toml(config_json: str) -> str:
    """A whole configuration (JSON) as TOML."""
