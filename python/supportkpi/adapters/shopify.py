"""Shopify orders → orders (SPEC §11, ADAPTERS.md).

The admin's CSV export has one row per line item, with the order's fields on its first row
only, and offset timestamps (``2024-01-01 11:13:25 -0500``); it has no customer id, so
orders link to contacts by ``Email`` (:func:`supportkpi.adapters.link`). The API / Fivetran
shape (``{"orders": [...]}``) has ``customer.id``, ``total_price`` and ``refunds``.
Cancelled and voided orders are left out and counted; test orders too.
"""

from __future__ import annotations

import pandas as pd

from ._common import (
    Adapted,
    Export,
    Source,
    adapted,
    column,
    keep_last,
    numbers,
    read_export,
    require,
    timestamps,
    truthy,
)

#: CSV export column → API field.
CSV_FIELDS = {
    "Id": "id",
    "Name": "name",
    "Email": "email",
    "Financial Status": "financial_status",
    "Created at": "created_at",
    "Processed at": "processed_at",
    "Cancelled at": "cancelled_at",
    "Total": "total_price",
    "Discount Amount": "total_discounts",
    "Refunded Amount": "refunded",
    "Currency": "currency",
    "Source": "source_name",
}


def _collapse_line_items(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per order from the line-item rows: each field's first non-empty value within
    the order's rows (the export fills order fields on the first row only)."""
    return frame.groupby("name", sort=False, dropna=False).first().reset_index()


def _api_refunds(frame: pd.DataFrame, export: Export) -> pd.Series:
    """Σ of the successful refund transactions per order (``refunds[].transactions[]``)."""
    if "refunds" not in frame.columns:
        return pd.Series(float("nan"), index=frame.index)
    refunds = frame["refunds"].explode().dropna()
    if refunds.empty:
        return pd.Series(0.0, index=frame.index)
    transactions = pd.json_normalize(
        refunds.map(lambda r: {"t": r.get("transactions") or []}).tolist()
    )
    items = transactions["t"].explode().dropna()
    if items.empty:
        return pd.Series(0.0, index=frame.index)
    owner = refunds.index.to_numpy()[items.index.to_numpy()]
    rows = pd.json_normalize(items.tolist())
    ok = (column(rows, "kind").astype("string") == "refund") & (
        column(rows, "status").astype("string").fillna("success") == "success"
    )
    amounts = numbers(
        column(rows, "amount"), export=export, field_name="refunds.transactions.amount"
    )
    total = (
        pd.Series(amounts.where(ok.to_numpy(bool), 0.0).to_numpy(), index=owner)
        .groupby(level=0)
        .sum()
    )
    return total.reindex(frame.index, fill_value=0.0)


def shopify_orders(orders: Source, *, include_cancelled: bool = False) -> Adapted:
    """Shopify orders as the §1 orders table, with a mapping report.

    Args:
        orders: the admin CSV export (path), the API / Fivetran orders (``{"orders":
            [...]}``, a list, ``.json`` / ``.jsonl``), or a DataFrame of either.
        include_cancelled: keep cancelled and voided orders (left out by default, and
            counted in the report).

    Example:
        >>> import io, pandas as pd
        >>> from supportkpi import adapters
        >>> csv = pd.DataFrame({"Name": ["#1001", "#1001"], "Email": [" Ann@Shop.com", None],
        ...     "Financial Status": ["paid", None],
        ...     "Created at": ["2024-01-01 11:13:25 -0500", "2024-01-01 11:13:25 -0500"],
        ...     "Total": ["59.00", None], "Lineitem name": ["Mug", "Tea"]})
        >>> s = adapters.shopify_orders(csv)
        >>> s.orders[["order_id", "email", "created_at", "revenue"]]
          order_id          email                created_at  revenue
        0    #1001   Ann@Shop.com 2024-01-01 16:13:25+00:00     59.0
    """
    export = read_export(orders, what="Shopify orders", list_key="orders", csv=True)
    frame = export.frame
    is_csv = "Name" in frame.columns or "Created at" in frame.columns
    if is_csv:
        frame = frame.rename(columns={k: v for k, v in CSV_FIELDS.items() if k in frame.columns})
    export = Export(frame, export.label, export.sideloads)
    require(
        export, ["name" if is_csv else "id", "created_at", "total_price"], what="Shopify orders"
    )
    rows_in = len(frame)
    dropped: dict[str, int] = {}
    if is_csv:
        frame = _collapse_line_items(frame)
    if "id" not in frame.columns or frame["id"].isna().all():
        frame["id"] = frame["name"]
    frame = keep_last(frame, "id", dropped, "repeated order ids (the last row kept)")
    frame = frame.reset_index(drop=True)
    export = Export(frame, export.label)
    status = column(frame, "financial_status").astype("string").str.lower()
    cancelled = timestamps(column(frame, "cancelled_at"), export=export, field_name="cancelled_at")
    voided = status.eq("voided").fillna(False).to_numpy(bool)
    is_cancelled = cancelled.notna().to_numpy(bool) & ~voided
    test = truthy(column(frame, "test")).to_numpy(bool)
    keep = ~test
    if not include_cancelled:
        keep &= ~voided & ~is_cancelled
        if voided.any():
            dropped["voided orders"] = int(voided.sum())
        if is_cancelled.any():
            dropped["cancelled orders"] = int(is_cancelled.sum())
    if test.any():
        dropped["test orders"] = int(test.sum())
    frame = frame[keep].reset_index(drop=True)
    export = Export(frame, export.label)

    created = timestamps(frame["created_at"], export=export, field_name="created_at")
    if is_csv:
        refund = numbers(column(frame, "refunded"), export=export, field_name="Refunded Amount")
        refund_source = "Refunded Amount"
    else:
        refund = _api_refunds(frame, export)
        refund_source = "refunds[].transactions[] (kind refund, status success)"
    customer = column(frame, "customer.id")
    table = pd.DataFrame(
        {
            "order_id": frame["id"].astype("string").to_numpy()
            if is_csv
            else frame["id"].to_numpy(),
            "customer_id": customer.to_numpy(),
            "email": column(frame, "email").to_numpy(),
            "created_at": created,
            "revenue": numbers(frame["total_price"], export=export, field_name="total_price"),
            "refund": refund.to_numpy(),
            "discount": numbers(
                column(frame, "total_discounts"), export=export, field_name="total_discounts"
            ),
            "channel": column(frame, "source_name").to_numpy(),
        }
    )
    currencies = column(frame, "currency").dropna().unique()
    notes = []
    if len(currencies) > 1:
        notes.append(
            f"{len(currencies)} currencies ({', '.join(map(str, currencies[:5]))}): "
            "revenue is summed as given, not converted"
        )
    sources: dict[str, tuple[str | None, str]] = {
        "order_id": ("Id (or Name)" if is_csv else "id", ""),
        "customer_id": (
            None if is_csv else "customer.id",
            "the CSV has no customer id: adapters.link keys orders by email"
            if is_csv
            else "guest checkouts get a new id each time: adapters.link keys by email",
        ),
        "email": ("Email" if is_csv else "email", ""),
        "created_at": (
            "Created at" if is_csv else "created_at",
            "Shopify's reports use processed_at",
        ),
        "revenue": ("Total" if is_csv else "total_price", "the order total as charged"),
        "refund": (refund_source, ""),
        "discount": ("Discount Amount" if is_csv else "total_discounts", ""),
        "channel": ("Source" if is_csv else "source_name", "web, pos, a sales channel app"),
    }
    return adapted(
        "Shopify",
        export,
        rows_in,
        orders=table,
        dropped=dropped,
        sources=sources,
        definitions=[
            "one order per Name: the CSV's line-item rows collapse, order fields from the "
            "first row that has them"
        ]
        if is_csv
        else [],
        notes=notes,
    )
