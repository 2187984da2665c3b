"""Counting what the cyclic garbage collector would find: the tests of the hot paths run round
trips with it off, then collect once and expect nothing."""

from __future__ import annotations

import collections
import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_off() -> Iterator[list[str]]:
    """Collect what is pending, run the block with automatic collection off, then collect once;
    the list given to the block is filled with the kinds of objects found in cycles (empty: none)."""
    found: list[str] = []
    gc.collect()
    gc.disable()
    try:
        yield found
        gc.set_debug(gc.DEBUG_SAVEALL)  # keep what the collection finds, to name it
        gc.collect()
        found.extend(f"{kind} x{n}" for kind, n in collections.Counter(type(o).__name__ for o in gc.garbage).most_common(6))
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
