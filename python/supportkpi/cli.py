"""The ``supportkpi`` command line.

Subcommands:

* ``supportkpi demo``: the scorecard of the bundled sample data, as a readable table.
* ``supportkpi scorecard``: the scorecard of your own files (Parquet or CSV), written as
  JSON, CSV, Parquet or a standalone HTML report; ``--fail-on`` turns it into a pipeline
  gate.
* ``supportkpi kpis``: the KPI catalogue.

Exit codes: 0 fine; 1 a KPI of the report period is in the ``--fail-on`` band (listed on
stderr); 2 bad input, configuration or arguments (the message, no traceback).

Each subcommand is a ``_<name>_command(args) -> int`` function registered in
``build_parser``.

Example:
    >>> from supportkpi.cli import main
    >>> main(["kpis", "--format", "csv"])  # doctest: +ELLIPSIS
    id,name,unit,direction,headline,band,owner,definition
    csat_mean,CSAT (mean),score,higher_is_better,True,healthy ≥ 4.30 · watch 4.00–4.30 · ...
    ...
    0
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from supportkpi._outputs import (
    FAIL_BANDS,
    InputError,
    csv_text,
    gate,
    jsonable_records,
    write_output,
)
from supportkpi._text import terminal_safe
from supportkpi._version import package_version
from supportkpi.adapters import _cli as adapter_cli

PROG = "supportkpi"

DEMO_PERIODS = 8
FORMATS = ("json", "csv", "html", "parquet")
# Progress lines go to stderr only once a run has taken this long.
PROGRESS_AFTER_SECONDS = 1.0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code.

    Example:
        >>> main(["scorecard", "--contacts", "missing.csv", "--orders", "missing.csv",
        ...       "--format", "json"])
        2
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - the CLI's contract: a message, never a traceback
        return _fail(getattr(args, "command_name", "error"), error)
    return code


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand.

    Example:
        >>> args = build_parser().parse_args(["scorecard", "--contacts", "c.parquet",
        ...                                   "--orders", "o.parquet", "--fail-on", "watch"])
        >>> args.by, args.tz, args.fail_on
        ('week', 'UTC', 'watch')
    """
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Support-conversion scorecard: support contacts joined with orders.",
        epilog="Exit codes: 0 fine, 1 a KPI in the --fail-on band, 2 bad input or config.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {package_version()}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    demo = commands.add_parser(
        "demo",
        help="scorecard of the bundled sample data",
        description=(
            "Compute the scorecard of the bundled sample (six months of synthetic "
            "ecommerce support data) and print its last periods."
        ),
    )
    _add_period_options(demo)
    demo.add_argument(
        "--periods",
        type=_positive_int,
        default=DEMO_PERIODS,
        metavar="N",
        help=f"how many of the latest periods to show (default {DEMO_PERIODS})",
    )
    demo.add_argument(
        "--out-dir",
        type=Path,
        default=Path("supportkpi-demo"),
        metavar="DIR",
        help="where to write report.html and trends.png (default ./supportkpi-demo; "
        "the PNG needs the plot extra: pip install 'supportkpi[plot]')",
    )
    demo.set_defaults(run=_demo_command, command_name="demo")

    card = commands.add_parser(
        "scorecard",
        help="scorecard of your own files (Parquet or CSV), as JSON, CSV, Parquet or HTML",
        description=(
            "Compute the scorecard of contacts and orders files (Parquet, or CSV with a "
            "header row) and write it out. json/csv/parquet hold the long table (one row "
            "per period x group x KPI, with numerator, denominator, band, owner and "
            "baseline); json adds the diagnostics; html is the standalone weekly report. "
            "With --fail-on, exit 1 when a KPI of the report period is in that band or "
            "worse. The report period is the latest period, or the one before it while "
            "less than half of the latest has been observed (choose with --period)."
        ),
        epilog="Exit codes: 0 fine, 1 a KPI in the --fail-on band, 2 bad input or config.",
    )
    card.add_argument("--contacts", required=True, metavar="PATH", help="contacts file")
    card.add_argument("--orders", required=True, metavar="PATH", help="orders file")
    card.add_argument("--sessions", metavar="PATH", help="sessions file (optional)")
    adapter_cli.add_arguments(card)
    card.add_argument(
        "--events", metavar="PATH", help="calendar file: name, kind, start, end (optional)"
    )
    card.add_argument(
        "--config", metavar="FILE", help="TOML or JSON configuration (bands, rules, windows)"
    )
    card.add_argument(
        "--rename",
        action="append",
        default=None,
        metavar="OURS=THEIRS",
        help="map one of your column names onto ours, e.g. contact_id=ticket_id (repeatable)",
    )
    _add_period_options(card)
    card.add_argument(
        "--kpis",
        metavar="IDS",
        help="comma-separated KPI ids to report (default all; see `supportkpi kpis`); "
        "--fail-on then gates on these only",
    )
    card.add_argument(
        "--as-of",
        metavar="TIME",
        help="end of observed data (ISO time; default: the latest created_at)",
    )
    card.add_argument(
        "--format",
        choices=FORMATS,
        help="output format (default: from the --out suffix)",
    )
    card.add_argument(
        "--out",
        action="append",
        metavar="PATH",
        help="output file, repeatable (e.g. the html report and a parquet table, each "
        "format from its suffix); '-' or absent writes json/csv/html to stdout",
    )
    card.add_argument(
        "--fail-on",
        choices=tuple(FAIL_BANDS),
        help="exit 1 when a KPI of the report period is in this band or worse",
    )
    card.add_argument(
        "--period",
        metavar="DATE",
        help="report period: a date inside it (default: see above)",
    )
    card.add_argument(
        "--days",
        type=_positive_int,
        default=90,
        metavar="N",
        help="days of trend charts in the html report (default 90)",
    )
    card.add_argument(
        "--currency",
        metavar="SYMBOL",
        help="currency symbol for money in the html report, e.g. € (default: none)",
    )
    card.add_argument("--quiet", action="store_true", help="no progress or summary on stderr")
    card.set_defaults(run=_scorecard_command, command_name="scorecard")

    kpis = commands.add_parser(
        "kpis",
        help="the KPI catalogue",
        description="List every KPI: id, name, unit, direction, band edges, owner, definition.",
    )
    kpis.add_argument(
        "--format", choices=("text", "json", "csv"), default="text", help="default: text"
    )
    kpis.add_argument("--out", metavar="PATH", help="output file (default stdout)")
    kpis.set_defaults(run=_kpis_command, command_name="kpis")
    return parser


def _add_period_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--by",
        choices=("day", "week", "month"),
        default="week",
        help="period length (default: week, ISO weeks starting Monday)",
    )
    parser.add_argument(
        "--tz",
        default="UTC",
        metavar="ZONE",
        help="IANA time zone of the period boundaries (default UTC)",
    )
    parser.add_argument(
        "--group-by",
        action="append",
        default=None,
        metavar="COLUMN",
        help="contact column to split every period by (repeatable)",
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from error
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _fail(command: str, error: BaseException) -> int:
    """Exit 2 with one line on stderr: the error's class (when it is not ours) and message,
    control characters escaped (a message can quote data)."""
    ours = isinstance(error, InputError) or type(error).__module__.startswith("supportkpi")
    kind = "" if ours or isinstance(error, OSError) else f"{type(error).__name__}: "
    print(terminal_safe(f"{PROG} {command}: error: {kind}{error}"), file=sys.stderr)
    return 2


# --- progress -------------------------------------------------------------------------


class Progress:
    """Step messages on stderr, shown only once the run has taken more than a second.

    A quick run prints nothing; a slow one prints each step as it starts (the first one
    when the second has passed), so a pipeline log shows where the time goes.

    Example:
        >>> progress = Progress("supportkpi scorecard")
        >>> progress.step("reading contacts.parquet")
        >>> progress.close()
    """

    def __init__(self, prefix: str, *, enabled: bool = True) -> None:
        self.prefix = prefix
        self.enabled = enabled
        self.started = time.perf_counter()
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self.shown = False

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def step(self, message: str) -> None:
        """Announce a step: now if the run is past a second, else when it gets there."""
        if not self.enabled:
            return
        self._cancel()
        wait = PROGRESS_AFTER_SECONDS - self.elapsed()
        if wait <= 0:
            self._emit(message)
            return
        self._timer = threading.Timer(wait, self._emit, args=(message,))
        self._timer.daemon = True
        self._timer.start()

    def _emit(self, message: str) -> None:
        with self._lock:
            self.shown = True
            print(f"{self.prefix}: {message} ({self.elapsed():.1f} s)", file=sys.stderr, flush=True)

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def close(self) -> None:
        """Stop the pending message, if any."""
        self._cancel()


# --- reading --------------------------------------------------------------------------


def read_table(path: str | Path, name: str, on_demand: bool = False) -> Any:
    """Reads a Parquet or CSV file as a pyarrow Table (the format from the suffix).

    CSV: a header row; types are inferred by Arrow (ISO timestamps with an offset become
    tz-aware timestamps, ``true``/``false`` booleans), and empty cells are null, also in
    text columns. With ``on_demand``, Parquet comes back as a ``ParquetColumns`` that the
    engine reads one column at a time (the scorecard reads contacts and orders that way).
    A file that cannot be read is an :class:`InputError`.

    Example:
        >>> import pathlib, tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = pathlib.Path(tmp) / "orders.csv"
        ...     _ = path.write_text("order_id,customer_id,created_at,revenue\\n"
        ...                         "1,7,2024-01-01T10:00:00Z,50\\n2,,2024-01-02T09:00:00Z,20\\n")
        ...     table = read_table(path, "orders")
        >>> table.schema.field("created_at").type, table.column("customer_id").null_count
        (TimestampType(timestamp[s, tz=UTC]), 1)
    """
    import pyarrow as pa

    from supportkpi._arrow import read_path

    try:
        return read_path(path, name, on_demand)
    except (pa.ArrowException, OSError, ValueError) as error:
        message = str(error)
        if not message.startswith(f"{name}:"):
            message = f"{name}: cannot read {path}: {message}"
        raise InputError(message) from error


def read_config(path: str | Path) -> Any:
    """Reads a TOML (``.toml``) or JSON (``.json``) configuration file, parsed and checked by
    the engine (the same reader as ``sk.Config``), as a :class:`supportkpi.Config`.

    Example:
        >>> import pathlib, tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = pathlib.Path(tmp) / "scorecard.toml"
        ...     _ = path.write_text("[bands.csat_mean]\\nhealthy_min = 4.5\\n")
        ...     read_config(path).to_dict()["bands"]["csat_mean"]["healthy_min"]
        4.5
    """
    from supportkpi._config import Config
    from supportkpi._supportkpi import ConfigError

    file = Path(path)
    if not file.is_file():
        raise InputError(f"config: no such file: {file}")
    suffix = file.suffix.lower()
    if suffix not in (".toml", ".json"):
        raise InputError(f"config: {file.name!r} is neither .toml nor .json")
    try:
        return Config.from_toml(file) if suffix == ".toml" else Config.from_json(file)
    except ConfigError as error:
        message = str(error)
        if "not valid TOML" in message or "not valid JSON" in message:
            raise InputError(f"config: cannot parse {file}: {message}") from error
        raise


def _outputs(args: argparse.Namespace) -> list[tuple[str, str | None]]:
    """(format, path) of each --out (None: stdout); --format names the format of one."""
    from supportkpi._arrow import PARQUET_SUFFIXES

    outs: list[str | None] = list(args.out or [None])
    if args.format:
        if len(outs) > 1:
            raise InputError("--format: with several --out, each takes its format from its suffix")
        return [(args.format, outs[0])]
    found = []
    for out in outs:
        lower = (out or "-").lower()
        fmt = next(
            (
                fmt
                for fmt, suffixes in (
                    ("parquet", PARQUET_SUFFIXES),
                    ("csv", (".csv",)),
                    ("json", (".json",)),
                    ("html", (".html", ".htm")),
                )
                if lower != "-" and lower.endswith(suffixes)
            ),
            None,
        )
        if fmt is None:
            raise InputError(
                "--format: give json, csv, html or parquet (or an --out with that suffix)"
            )
        found.append((fmt, out))
    return found


# --- scorecard ------------------------------------------------------------------------


def _scorecard_command(args: argparse.Namespace) -> int:
    import pyarrow as pa

    import supportkpi as sk

    progress = Progress(f"{PROG} scorecard", enabled=not args.quiet)
    try:
        outputs = _outputs(args)
        if any(fmt == "parquet" and out in (None, "-") for fmt, out in outputs):
            raise InputError("--out: parquet needs an output file")
        card = _compute(args, progress, sk)
        written = []
        for fmt, out in outputs:
            progress.step(f"writing {fmt}")
            path = write_output(
                card, fmt, out, days=args.days, period=args.period, currency=args.currency
            )
            written += [] if path is None else [path]
        offending, expected, checked = gate(card, args.fail_on, args.period)
    except (sk.SupportKpiError, InputError, OSError, pa.ArrowException) as error:
        progress.close()
        return _fail("scorecard", error)
    finally:
        progress.close()

    for path in [] if args.quiet else written:
        size = path.stat().st_size
        print(
            f"{PROG} scorecard: wrote {path} ({size:,} bytes) in {progress.elapsed():.1f} s",
            file=sys.stderr,
        )
    if expected:
        print(
            f"{PROG} scorecard: not failing on {len(expected)} KPI(s) in the {args.fail_on} "
            "band or worse during a peak event (expected):",
            file=sys.stderr,
        )
        for line in expected:
            print(f"  {terminal_safe(line)}", file=sys.stderr)
    if offending:
        print(
            f"{PROG} scorecard: {len(offending)} KPI(s) in the {args.fail_on} band or worse "
            f"in the {checked}:",
            file=sys.stderr,
        )
        for line in offending:
            print(f"  {terminal_safe(line)}", file=sys.stderr)
        return 1
    return 0


def _compute(args: argparse.Namespace, progress: Progress, sk: Any) -> Any:
    import inspect

    accepted = inspect.signature(sk.scorecard).parameters
    tables: dict[str, Any] = adapter_cli.adapted_inputs(args, progress.step, args.quiet)
    for name in ("contacts", "orders", "sessions", "events"):
        path = getattr(args, name)
        if path is None or name in tables:
            continue
        progress.step(f"reading {path}")
        # Contacts and orders in Parquet are read by the engine one column at a time.
        tables[name] = read_table(path, name, on_demand=name in ("contacts", "orders"))
    options: dict[str, Any] = {"by": args.by, "tz": args.tz, "group_by": args.group_by}
    if args.as_of is not None:
        options["as_of"] = args.as_of
    if args.kpis is not None:
        options["kpis"] = [k.strip() for k in args.kpis.split(",") if k.strip()]
    if args.rename:
        options["columns"] = _renaming(args.rename)
    if args.config is not None:
        if "config" not in accepted:
            raise InputError("--config: this build of supportkpi has no configuration support")
        options["config"] = read_config(args.config)
    if "events" in tables:
        if "events" in accepted:
            options["events"] = tables["events"]
        else:
            print(
                f"{PROG} scorecard: --events ignored: this build of supportkpi has no events",
                file=sys.stderr,
            )
    progress.step("computing the scorecard")
    return sk.scorecard(
        tables["contacts"], tables["orders"], sessions=tables.get("sessions"), **options
    )


def _renaming(pairs: Sequence[str]) -> dict[str, str]:
    renaming = {}
    for pair in pairs:
        ours, sep, theirs = pair.partition("=")
        if not sep or not ours.strip() or not theirs.strip():
            raise InputError(f"--rename: expected OURS=THEIRS, got {pair!r}")
        renaming[ours.strip()] = theirs.strip()
    return renaming


# --- kpis -----------------------------------------------------------------------------


def _kpis_command(args: argparse.Namespace) -> int:
    import supportkpi as sk
    from supportkpi import _present

    catalog = sk.kpi_catalog()
    try:
        if args.format == "json":
            text = json.dumps(jsonable_records(catalog), indent=1, ensure_ascii=False) + "\n"
        else:
            table = pd.DataFrame(
                {
                    "id": catalog["id"],
                    "name": catalog["name"],
                    "unit": catalog["unit"],
                    "direction": catalog["direction"],
                    "headline": catalog["headline"],
                    "band": [
                        _present.describe_band(band if isinstance(band, dict) else None, unit, kpi)
                        for band, unit, kpi in zip(catalog["band"], catalog["unit"], catalog["id"])
                    ],
                    "owner": catalog["owner"].fillna(""),
                    "definition": catalog["definition"],
                }
            )
            if args.format == "csv":
                text = csv_text(table)
            else:
                text = _catalog_text(table)
        if args.out and args.out != "-":
            Path(args.out).write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
    except OSError as error:
        return _fail("kpis", error)
    return 0


def _catalog_text(table: pd.DataFrame) -> str:
    lines = []
    for row in table.to_dict("records"):
        star = " *" if row["headline"] else ""
        lines.append(f"{row['id']}{star} — {row['name']} [{row['unit']}, {row['direction']}]")
        lines.append(f"    {row['definition']}")
        if row["band"]:
            lines.append(f"    bands: {row['band']} (owner: {row['owner']})")
    lines.append("")
    lines.append("* headline KPI (seed 001); every other KPI is diagnostic.")
    return "\n".join(lines) + "\n"


# --- demo -----------------------------------------------------------------------------


def _demo_command(args: argparse.Namespace) -> int:
    # Imported here so that `supportkpi --help` works even when the extension is broken.
    import supportkpi as sk
    from supportkpi._present import demo_kpis, format_instant
    from supportkpi._sample import load_sample
    from supportkpi._terminal import evidence_lines, format_wide, interval_lines

    started = time.perf_counter()
    sample = load_sample()
    loaded = time.perf_counter()
    try:
        card = sk.scorecard(
            sample["contacts"],
            sample["orders"],
            sessions=sample["sessions"],
            events=sample["events"],
            by=args.by,
            tz=args.tz,
            group_by=args.group_by,
        )
    except getattr(sk, "SupportKpiError", ValueError) as error:
        return _fail("demo", error)
    computed = time.perf_counter()

    contacts, orders = sample["contacts"], sample["orders"]
    print(
        f"supportkpi demo: bundled sample, {len(contacts):,} contacts, {len(orders):,} orders, "
        f"{int(sample['sessions']['sessions'].sum()):,} sessions; "
        f"by {args.by} in {args.tz}, as of {format_instant(card.as_of, args.tz)}"
    )
    print()
    print(format_wide(card.wide(), args.by, args.periods, group_by=args.group_by))
    print()
    print("\n".join(interval_lines(card, [k for k in demo_kpis() if k in card.kpis])))
    if card.skipped:
        print()
        print("skipped KPIs:")
        for kpi, reason in card.skipped.items():
            print(f"  {kpi}: {reason}")
    fired = card.diagnose()
    if len(fired):
        print()
        print("diagnostics that fired (rule: periods):")
        for rule, rows in fired.groupby("rule", sort=True):
            print(f"  {rule}: {len(rows)}")
        print("\n".join(evidence_lines(card)))
    written = _write_demo_files(card, args.out_dir)
    print()
    for path in written:
        print(f"wrote {path}")
    print(
        f"loaded the sample in {loaded - started:.3f} s, "
        f"computed the scorecard in {computed - loaded:.3f} s, "
        f"total {time.perf_counter() - started:.3f} s",
        file=sys.stderr,
    )
    return 0


def _write_demo_files(card: Any, out_dir: Path) -> list[Path]:
    """The standalone HTML report and, when matplotlib is installed, a trends PNG."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [Path(card.to_html(out_dir / "report.html"))]
    try:
        figure = card.plot_trends(days=90)
    except ImportError as error:
        print(f"supportkpi demo: no trends.png ({error})", file=sys.stderr)
        return written
    png = out_dir / "trends.png"
    figure.savefig(png, dpi=110, bbox_inches="tight")
    written.append(png)
    return written


if __name__ == "__main__":
    sys.exit(main())
