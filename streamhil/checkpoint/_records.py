"""What both savers store, and the steps they share: read a config, encode, rebuild a tuple.

A saved checkpoint is a :class:`StoredCheckpoint` (its channel values live apart, as blobs) plus
its pending writes. A blob is addressed by ``(thread_id, checkpoint_ns, channel, origin)``, where
``origin`` is the id of the checkpoint that first stored that value; a later checkpoint whose
channel did not change points at the same blob (``values_from``). Keying blobs by origin rather
than by version number keeps two branches of a forked history apart even when both reach the
same version number of a channel.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from .base import Checkpoint, CheckpointTuple, PendingWrite, thread_config
from .serde import dumps, loads

__all__ = [
    "Address",
    "StoredCheckpoint",
    "EncodedWrites",
    "read_address",
    "encode_metadata",
    "encode_changed",
    "encode_writes",
    "plan_values",
    "matches",
    "build_tuple",
    "list_scope",
    "list_pages",
    "listed_address",
    "list_addressed",
    "list_sort_key",
    "ListCursor",
    "ListScope",
    "Loaded",
]

EncodedWrites = dict[str, list[tuple[str, bytes]]]
"""Task id -> its ``(channel, serialised value)`` writes, tasks in first-seen order."""


@dataclass(frozen=True, slots=True)
class Address:
    """Where a checkpoint lives; ``checkpoint_id`` is None for "the latest"."""

    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str | None


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    """One checkpoint as stored: everything but its channel values, which are blobs."""

    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str
    parent_id: str | None
    ts: str
    v: int
    metadata: bytes
    versions: dict[str, int]
    values_from: dict[str, str]
    """Channel -> id of the checkpoint whose blob holds the value (only non-empty channels)."""


def read_address(config: Mapping[str, Any] | None, *, need_id: bool = False) -> Address:
    """The address a LangGraph-style config names. ``thread_id`` is coerced to str."""
    # type() first: isinstance against the Mapping ABC costs several times more, per call
    conf = config.get("configurable") if type(config) is dict or isinstance(config, Mapping) else None
    if not (type(conf) is dict or isinstance(conf, Mapping)) or conf.get("thread_id") is None:
        raise ConfigError(
            f"a checkpointer needs config['configurable']['thread_id'], got {config!r}; "
            "pass {'configurable': {'thread_id': ...}}"
        )
    ns = conf.get("checkpoint_ns") or ""
    if type(ns) is not str and not isinstance(ns, str):
        raise ConfigError(f"checkpoint_ns must be a str, got {ns!r}")
    checkpoint_id = conf.get("checkpoint_id") or None
    if need_id and checkpoint_id is None:
        raise ConfigError(
            f"this call needs config['configurable']['checkpoint_id'] (the checkpoint the writes "
            f"belong to), got {config!r}"
        )
    return Address(str(conf["thread_id"]), ns, checkpoint_id)


def encode_metadata(metadata: Mapping[str, Any]) -> bytes:
    """Metadata as JSON bytes; an error names the metadata key (``the value at ['key']``)."""
    return dumps(dict(metadata), where="metadata")


def encode_changed(checkpoint: Checkpoint, new_versions: Mapping[str, int]) -> dict[str, bytes]:
    """Blobs of the channels that changed (are in ``new_versions``) and are non-empty."""
    values = checkpoint.channel_values
    return {channel: dumps(values[channel], where=_Channel(channel)) for channel in new_versions if channel in values}


def encode_writes(writes: Iterable[PendingWrite]) -> EncodedWrites:
    """Group ``(task_id, channel, value)`` by task, keeping order; errors name task and channel."""
    grouped: EncodedWrites = {}
    for task_id, channel, value in writes:
        grouped.setdefault(task_id, []).append((channel, dumps(value, where=_TaskWrite(task_id, channel))))
    return grouped


class _Channel:
    """Names a channel's value in a serialisation error (formatted only if one happens)."""

    __slots__ = ("channel",)

    def __init__(self, channel: str) -> None:
        self.channel = channel

    def __str__(self) -> str:
        return f"channel {self.channel!r}"


class _TaskWrite:
    """Names a task's write in a serialisation error (formatted only if one happens)."""

    __slots__ = ("task_id", "channel")

    def __init__(self, task_id: str, channel: str) -> None:
        self.task_id, self.channel = task_id, channel

    def __str__(self) -> str:
        return f"the write of task {self.task_id!r} to channel {self.channel!r}"


def plan_values(
    checkpoint: Checkpoint,
    changed: dict[str, bytes],
    parent: StoredCheckpoint | None,
) -> tuple[dict[str, str], dict[str, bytes]]:
    """Which blob each non-empty channel reads from, and the blobs to store under this id.

    A channel outside ``changed`` reuses the parent's blob when the parent holds one at the
    same version; otherwise (a caller that left it out of ``new_versions`` by mistake, or a
    missing parent) it is serialised here, so the saved checkpoint is always complete.
    """
    own_id = checkpoint.id
    versions = checkpoint.channel_versions
    values_from: dict[str, str] = {}
    blobs = dict(changed)
    for channel, value in checkpoint.channel_values.items():
        if channel in changed:
            values_from[channel] = own_id
            continue
        origin = parent.values_from.get(channel) if parent is not None else None
        if (
            origin is not None
            and parent is not None
            and channel in versions
            and parent.versions.get(channel) == versions[channel]
        ):
            values_from[channel] = origin
        else:
            blobs[channel] = dumps(value, where=f"channel {channel!r}")
            values_from[channel] = own_id
    return values_from, blobs


def matches(stored: StoredCheckpoint, filter: Mapping[str, Any] | None) -> bool:
    """Whether the metadata has every ``filter`` key with an equal value."""
    if not filter:
        return True
    metadata = loads(stored.metadata)
    return all(metadata.get(key) == value for key, value in filter.items())


def build_tuple(
    stored: StoredCheckpoint,
    blobs: Mapping[str, bytes],
    writes: Sequence[tuple[str, str, bytes]],
) -> CheckpointTuple:
    """A fresh :class:`CheckpointTuple` (new objects on every call) from what was stored."""
    thread_id, ns = stored.thread_id, stored.checkpoint_ns
    checkpoint = Checkpoint(
        id=stored.checkpoint_id,
        ts=stored.ts,
        channel_values={channel: loads(blobs[channel]) for channel in stored.values_from},
        channel_versions=dict(stored.versions),
        v=stored.v,
    )
    return CheckpointTuple(
        config=thread_config(thread_id, ns, stored.checkpoint_id),
        checkpoint=checkpoint,
        metadata=loads(stored.metadata),
        parent_config=thread_config(thread_id, ns, stored.parent_id) if stored.parent_id else None,
        pending_writes=[(task_id, channel, loads(value)) for task_id, channel, value in writes],
    )


Loaded = tuple[StoredCheckpoint, dict[str, bytes], list[tuple[str, str, bytes]]]
"""A checkpoint as read back: its record, its blobs by channel, its ``(task, channel, value)`` writes."""


@dataclass(frozen=True, slots=True)
class ListScope:
    """What ``alist(config)`` lists, as LangGraph's savers read the config: a field that is None
    matches anything. ``config=None`` is every thread; a config without ``checkpoint_ns`` (or
    with ``None``) is every namespace of its thread (``""`` is the root's alone); a config naming
    a ``checkpoint_id`` is that checkpoint, in whichever namespace the rest allows."""

    thread_id: str | None = None
    checkpoint_ns: str | None = None
    checkpoint_id: str | None = None

    def admits(self, stored: StoredCheckpoint) -> bool:
        """Whether ``stored`` is in the scope."""
        return (
            (self.thread_id is None or stored.thread_id == self.thread_id)
            and (self.checkpoint_ns is None or stored.checkpoint_ns == self.checkpoint_ns)
            and (self.checkpoint_id is None or stored.checkpoint_id == self.checkpoint_id)
        )


ListCursor = tuple[str, str, str]
"""Where a listing goes on: ``(checkpoint_id, thread_id, checkpoint_ns)`` of the last row given
(rows come in descending order of the three, newest checkpoint first)."""


def list_sort_key(stored: StoredCheckpoint) -> ListCursor:
    """A checkpoint's place in a listing (sort descending)."""
    return (stored.checkpoint_id, stored.thread_id, stored.checkpoint_ns)


def list_scope(config: Mapping[str, Any] | None, before: Mapping[str, Any] | None) -> tuple[ListScope, ListCursor | None]:
    """``alist``'s arguments as ``(scope, cursor to start after)``: ``before``'s id bounds the
    listed ids from above (exclusive), as a cursor no row can equal."""
    scope = ListScope()
    if config is not None:
        address = read_address(config)
        conf = config["configurable"]
        ns = conf.get("checkpoint_ns")
        scope = ListScope(address.thread_id, None if ns is None else address.checkpoint_ns, address.checkpoint_id)
    bound = read_address(before).checkpoint_id if before is not None else None
    return scope, (bound, "", "") if bound is not None else None


def listed_address(config: Mapping[str, Any] | None) -> Address | None:
    """The one checkpoint ``alist(config)`` can list, when ``config`` names its thread,
    namespace and id (then a saver reads it as ``aget_tuple`` does); None otherwise."""
    if config is None:
        return None
    scope, _ = list_scope(config, None)
    if scope.thread_id is None or scope.checkpoint_ns is None or scope.checkpoint_id is None:
        return None
    return Address(scope.thread_id, scope.checkpoint_ns, scope.checkpoint_id)


async def list_addressed(
    address: Address,
    load: Callable[[Address], Awaitable[Loaded | None]],
    filter: Mapping[str, Any] | None,
    before: Mapping[str, Any] | None,
    limit: int | None,
) -> AsyncIterator[Loaded]:
    """``alist`` of a config naming a checkpoint id: that checkpoint alone (``load`` reads it),
    if it exists, is older than ``before``, matches ``filter``, and ``limit`` is above 0."""
    bound = read_address(before).checkpoint_id if before is not None else None
    if (limit is not None and limit <= 0) or (bound is not None and str(address.checkpoint_id) >= bound):
        return
    loaded = await load(address)
    if loaded is not None and matches(loaded[0], filter):
        yield loaded


async def list_pages(
    fetch: Callable[[ListCursor | None, int], Awaitable[tuple[list[Any], ListCursor | None]]],
    start: ListCursor | None,
    limit: int | None,
    page: int,
) -> AsyncIterator[Any]:
    """Rows of a paged listing: ``fetch(cursor, want)`` returns up to ``want`` rows and the cursor
    of the next page (None at the end); at most ``limit`` rows in all."""
    cursor, remaining = start, limit
    while remaining is None or remaining > 0:
        rows, cursor = await fetch(cursor, page if remaining is None else min(remaining, page))
        for row in rows:
            yield row
        if remaining is not None:
            remaining -= len(rows)
        if cursor is None:
            return
