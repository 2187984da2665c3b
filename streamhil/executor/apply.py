"""Pure write application: one batch of writes through the state's reducers, in the order given."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import InvalidUpdateError
from .spec import ChannelSpec, reduce_value
from ..types import Overwrite

__all__ = ["apply_writes", "apply_all_or_none"]

_CONCURRENT = (
    "At key {key!r}: Can receive only one value per step. Use an Annotated key to handle multiple "
    "values, e.g. {key}: Annotated[list, operator.add]."
)


def apply_writes(
    channels: Mapping[str, ChannelSpec],
    values: dict[str, Any],
    writes: Sequence[tuple[str, Any]],
) -> set[str]:
    """Apply ``writes`` (already in deterministic order) to ``values`` in place; return changed keys.

    A plain key takes at most one write per batch (``InvalidUpdateError`` otherwise); a reducer
    key folds every write, and an ``Overwrite`` replaces its value (at most one per batch).
    """
    changed: set[str] = set()
    if not writes:
        return changed
    if len(writes) == 1:
        key, value = writes[0]
        _apply_one(channels[key], values, key, value)
        changed.add(key)
        return changed
    seen_plain: set[str] = set()
    overwritten: set[str] = set()
    for key, value in writes:
        spec = channels[key]
        if spec.reducer is None:
            if key in seen_plain:
                raise InvalidUpdateError(_CONCURRENT.format(key=key))
            seen_plain.add(key)
        elif isinstance(value, Overwrite):
            if key in overwritten:
                raise InvalidUpdateError(f"At key {key!r}: Can receive only one Overwrite value per step.")
            overwritten.add(key)
        _apply_one(spec, values, key, value)
        changed.add(key)
    return changed


def apply_all_or_none(channels: Mapping[str, ChannelSpec], values: dict[str, Any], writes: Sequence[tuple[str, Any]]) -> bool:
    """Apply one task's ``writes`` to ``values``, or none of them when the state refuses the batch
    (``InvalidUpdateError``); return whether they were applied. For the views that show what
    finished tasks wrote, where a refused task is left out rather than half-applied."""
    trial = {key: values[key] for key, _ in writes if key in values}
    try:
        apply_writes(channels, trial, writes)
    except InvalidUpdateError:
        return False
    values.update(trial)
    return True


def _apply_one(spec: ChannelSpec, values: dict[str, Any], key: str, value: Any) -> None:
    if spec.reducer is None:
        values[key] = value.value if isinstance(value, Overwrite) else value
    else:
        values[key] = reduce_value(spec, values.get(key), value, key in values)
