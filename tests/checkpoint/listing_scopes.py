"""The listing scopes (and cursors) whose query plans the schema tests check on each backend."""

from __future__ import annotations

from typing import Any

from streamhil.checkpoint._records import ListScope

LISTING_SCOPES: list[tuple[ListScope, Any]] = [
    (ListScope("t1", None), None),  # a thread, every namespace: LangGraph's usual list call
    (ListScope("t1", None), ("000000001500", "t1", "")),
    (ListScope("t1", None), ("000000001500", "", "")),  # before=: a cursor no row equals
    (ListScope(None, None), None),  # every thread: list(None)
    (ListScope(None, None), ("000000001500", "t1", "")),
    (ListScope("t1", ""), None),  # one namespace: the primary key
    (ListScope("t1", ""), ("000000001500", "t1", "")),
]
