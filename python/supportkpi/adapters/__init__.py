"""Helpdesk and shop exports in, the contract's tables out (SPEC §11).

Each adapter reads one vendor's export (a path, a list of dicts, the raw API response or
a DataFrame) and returns an :class:`Adapted` with ``.contacts`` and/or ``.orders`` in the
shape of SPEC §1 and a ``.report`` of what was mapped, from where, and what was dropped
and why. :func:`link` then gives contacts and orders one customer key by email.

Example:
    >>> import supportkpi as sk
    >>> from supportkpi import adapters
    >>> z = adapters.zendesk("tickets.json", users="users.json")  # doctest: +SKIP
    >>> s = adapters.shopify_orders("orders_export.csv")  # doctest: +SKIP
    >>> linked = adapters.link(contacts=z.contacts, orders=s.orders)  # doctest: +SKIP
    >>> card = sk.scorecard(linked.contacts, linked.orders, by="week")  # doctest: +SKIP
"""

from ._common import Adapted, ColumnMapping, MappingReport
from .event_log import event_log
from .gorgias import gorgias
from .intercom import intercom
from .link import Linked, LinkReport, link
from .shopify import shopify_orders
from .zendesk import zendesk

__all__ = [
    "Adapted",
    "ColumnMapping",
    "LinkReport",
    "Linked",
    "MappingReport",
    "event_log",
    "gorgias",
    "intercom",
    "link",
    "shopify_orders",
    "zendesk",
]
