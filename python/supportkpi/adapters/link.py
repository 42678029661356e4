"""One customer key for contacts and orders (SPEC §11): helpdesks key customers by email,
shops by their own id (and a guest checkout gets a new one each time), so the stable key is
the normalised email (trimmed, lower-cased), through an optional mapping table."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .._supportkpi import ConfigError, SchemaError
from .._text import terminal_safe
from ._common import normalise_email

#: An email shared by more distinct source customer ids than this is flagged.
MAX_CUSTOMERS_PER_EMAIL = 5


@dataclass
class LinkReport:
    """How contacts and orders were linked: the shares that got an email key and that
    found the other side, and the emails flagged as shared by many customers."""

    contacts: int
    orders: int
    contacts_with_email: int
    orders_with_email: int
    contacts_linked: int
    orders_linked: int
    mapped: int
    flagged: dict[str, int] = field(default_factory=dict)

    @property
    def contacts_linked_share(self) -> float:
        return self.contacts_linked / self.contacts if self.contacts else float("nan")

    @property
    def orders_linked_share(self) -> float:
        return self.orders_linked / self.orders if self.orders else float("nan")

    def __str__(self) -> str:
        lines = [
            f"link: {self.contacts:,} contacts, {self.orders:,} orders",
            f"  contacts with an email: {self.contacts_with_email:,}; orders with an email: "
            f"{self.orders_with_email:,}; emails re-keyed by the mapping table: {self.mapped:,}",
            f"  contacts linked to an order's customer: {self.contacts_linked:,} "
            f"({self.contacts_linked_share:.1%})",
            f"  orders linked to a contact's customer: {self.orders_linked:,} "
            f"({self.orders_linked_share:.1%})",
        ]
        if self.flagged:
            shown = ", ".join(f"{e} ({n})" for e, n in list(self.flagged.items())[:10])
            lines.append(
                f"  flagged: {len(self.flagged):,} emails shared by more than "
                f"{MAX_CUSTOMERS_PER_EMAIL} customer ids (shared inboxes, bots?): {shown}"
            )
        return "\n".join(terminal_safe(line) for line in lines)

    def __repr__(self) -> str:
        return str(self)


@dataclass
class Linked:
    contacts: pd.DataFrame
    orders: pd.DataFrame
    report: LinkReport


def _mapping(mapping: Any) -> dict[str, str]:
    """The mapping table as normalised email → key."""
    if mapping is None:
        return {}
    if isinstance(mapping, Mapping):
        table = pd.DataFrame({"email": list(mapping), "customer_id": list(mapping.values())})
    elif isinstance(mapping, pd.DataFrame):
        if not {"email", "customer_id"} <= set(mapping.columns):
            raise SchemaError(
                "link mapping: expected columns email and customer_id; "
                f"found {', '.join(map(str, mapping.columns))}"
            )
        table = mapping[["email", "customer_id"]]
    else:
        raise ConfigError("link mapping: a dict email → customer key, or a DataFrame")
    emails = normalise_email(table["email"])
    keys = table["customer_id"].astype("string")
    usable = (emails.notna() & keys.notna()).to_numpy(bool)
    return dict(zip(emails[usable], keys[usable], strict=True))


def _emails(table: pd.DataFrame) -> pd.Series:
    """Each row's normalised email (null without an ``email`` column)."""
    if "email" in table.columns:
        return normalise_email(table["email"])
    return pd.Series(pd.NA, index=table.index, dtype="string")


def _keys(
    table: pd.DataFrame, email: pd.Series, mapping: dict[str, str], prefix: str
) -> tuple[pd.Series, int, int]:
    """The customer key per row: the mapped or normalised email, else the table's own
    customer id under ``prefix`` (so a helpdesk's repeat contacts still group), else null."""
    mapped = email.map(mapping) if mapping else pd.Series(pd.NA, index=table.index)
    key = mapped.fillna(email).astype("string")
    own = table["customer_id"] if "customer_id" in table.columns else None
    if own is not None:
        key = key.fillna(prefix + _id_text(own))
    return (
        key.astype(object).where(key.notna(), None),
        int(email.notna().sum()),
        int(mapped.notna().sum()),
    )


def _id_text(ids: pd.Series) -> pd.Series:
    """Ids as text; whole-number floats (integer ids a null turned into floats) without
    their ``.0``."""
    if pd.api.types.is_float_dtype(ids):
        whole = ids.dropna()
        if (whole == whole.round()).all():
            return ids.astype("Int64").astype("string")
    return ids.astype("string")


def _flag(table: pd.DataFrame, email: pd.Series) -> pd.Series:
    """Distinct source customer ids per normalised email."""
    if "customer_id" not in table.columns:
        return pd.Series(dtype="int64")
    frame = pd.DataFrame({"email": email, "id": table["customer_id"]}).dropna()
    return frame.groupby("email")["id"].nunique()


def link(
    *,
    contacts: pd.DataFrame,
    orders: pd.DataFrame,
    mapping: Any = None,
    max_customers_per_email: int = MAX_CUSTOMERS_PER_EMAIL,
) -> Linked:
    """Contacts and orders keyed by one customer key, with a link report.

    The key is the email, trimmed and lower-cased, or what ``mapping`` (a dict email →
    key, or a DataFrame with ``email`` and ``customer_id``) says for it; rows without an
    email keep their own customer id, prefixed ``contact:`` / ``order:`` so the two sides
    never collide; rows with neither are anonymous. The source id is kept as
    ``source_customer_id``. Emails shared by more than ``max_customers_per_email``
    distinct source ids on either side are flagged in the report, not dropped.

    Example:
        >>> import pandas as pd
        >>> from supportkpi import adapters
        >>> contacts = pd.DataFrame({"contact_id": [1, 2], "customer_id": [70, 71],
        ...     "email": [" Ann@Shop.com", None]})
        >>> orders = pd.DataFrame({"order_id": ["#1"], "customer_id": [None],
        ...     "email": ["ann@shop.com"]})
        >>> linked = adapters.link(contacts=contacts, orders=orders)
        >>> linked.contacts["customer_id"].tolist(), linked.orders["customer_id"].tolist()
        (['ann@shop.com', 'contact:71'], ['ann@shop.com'])
        >>> round(linked.report.contacts_linked_share, 2)
        0.5
    """
    if max_customers_per_email < 1:
        raise ConfigError("link: max_customers_per_email must be at least 1")
    table = _mapping(mapping)
    contact_emails, order_emails = _emails(contacts), _emails(orders)
    contact_keys, contacts_with_email, mapped_c = _keys(contacts, contact_emails, table, "contact:")
    order_keys, orders_with_email, mapped_o = _keys(orders, order_emails, table, "order:")
    counts = (
        pd.concat([_flag(contacts, contact_emails), _flag(orders, order_emails)])
        .groupby(level=0)
        .max()
    )
    flagged = counts[counts > max_customers_per_email].sort_values(ascending=False)
    contact_set = set(contact_keys.dropna())
    order_set = set(order_keys.dropna())
    out_contacts = contacts.assign(
        source_customer_id=contacts.get("customer_id"), customer_id=contact_keys
    )
    out_orders = orders.assign(source_customer_id=orders.get("customer_id"), customer_id=order_keys)
    report = LinkReport(
        contacts=len(contacts),
        orders=len(orders),
        contacts_with_email=contacts_with_email,
        orders_with_email=orders_with_email,
        contacts_linked=int(contact_keys.isin(order_set).sum()),
        orders_linked=int(order_keys.isin(contact_set).sum()),
        mapped=mapped_c + mapped_o,
        flagged={str(k): int(v) for k, v in flagged.items()},
    )
    return Linked(out_contacts, out_orders, report)
