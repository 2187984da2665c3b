"""The saver's binary codecs for one-dimensional ``text[]``, ``int4[]`` and ``bytea[]`` arrays,
in :data:`ADAPTERS` (psycopg's adapters plus these; the saver's and the server's connections use it).

psycopg's generic list adaptation looks at every item to pick a type, then walks the list again
in Python; a save sends up to thirteen arrays, so that was most of a save's client CPU. These
codecs know the item type and do one pass with :mod:`struct`.
"""

from __future__ import annotations

import struct
from typing import Any

from ..errors import CheckpointError
from . import _postgres_sql as sql

try:
    import psycopg
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError("PostgresSaver needs psycopg 3: pip install 'streamhil[postgres]'") from exc

__all__ = ["ADAPTERS", "register_codecs"]


_HEADER = struct.Struct("!iiiii")  # ndim, has-null flag, item oid, length, lower bound
_EMPTY = struct.Struct("!iii")
_SIZE = struct.Struct("!i")
_NULL = _SIZE.pack(-1)
_TEXT_OID, _INT4_OID, _BYTEA_OID = 25, 23, 17


def _pack_array(items: list[Any], item_oid: int, encode: Any) -> bytes:
    if not items:
        return _EMPTY.pack(0, 0, item_oid)
    parts = [b""]
    has_null = 0
    for item in items:
        if item is None:
            parts.append(_NULL)
            has_null = 1
        else:
            data = encode(item)
            parts.append(_SIZE.pack(len(data)))
            parts.append(data)
    parts[0] = _HEADER.pack(1, has_null, item_oid, len(items), 1)
    return b"".join(parts)


def _int4(value: int) -> bytes:
    return _SIZE.pack(value)


class _TextArrayDumper(psycopg.adapt.Dumper):
    format = psycopg.pq.Format.BINARY
    oid = 1009  # text[]

    def dump(self, obj: Any) -> bytes:
        return _pack_array(obj, _TEXT_OID, str.encode)


class _IntArrayDumper(psycopg.adapt.Dumper):
    format = psycopg.pq.Format.BINARY
    oid = 1007  # int4[]

    def dump(self, obj: Any) -> bytes:
        return _pack_array(obj, _INT4_OID, _int4)


class _ByteaArrayDumper(psycopg.adapt.Dumper):
    format = psycopg.pq.Format.BINARY
    oid = 1001  # bytea[]

    def dump(self, obj: Any) -> bytes:
        return _pack_array(obj, _BYTEA_OID, bytes)


def _unpack_array(data: Any, convert: Any) -> list[Any]:
    ndim, _has_null, _oid = _EMPTY.unpack_from(data, 0)
    if ndim == 0:
        return []
    if ndim != 1:
        raise CheckpointError(f"expected a one-dimensional array from PostgreSQL, got {ndim} dimensions")
    view = memoryview(data)
    (count,) = _SIZE.unpack_from(view, 12)
    position = 20
    items: list[Any] = []
    for _ in range(count):
        (size,) = _SIZE.unpack_from(view, position)
        position += 4
        if size < 0:
            items.append(None)
        else:
            items.append(convert(view[position : position + size]))
            position += size
    return items


def _text(view: memoryview) -> str:
    return str(view, "utf-8")


class _TextArrayLoader(psycopg.adapt.Loader):
    format = psycopg.pq.Format.BINARY

    def load(self, data: Any) -> list[Any]:
        return _unpack_array(data, _text)


class _ByteaArrayLoader(psycopg.adapt.Loader):
    format = psycopg.pq.Format.BINARY

    def load(self, data: Any) -> list[Any]:
        return _unpack_array(data, bytes)


def register_codecs(adapters: psycopg.adapt.AdaptersMap) -> None:
    """Add the array codecs above to ``adapters`` (a context of the saver's own, or the adapters
    of one cursor on a connection the saver was given)."""
    adapters.register_dumper(sql.TextArray, _TextArrayDumper)
    adapters.register_dumper(sql.IntArray, _IntArrayDumper)
    adapters.register_dumper(sql.ByteaArray, _ByteaArrayDumper)
    adapters.register_loader(1009, _TextArrayLoader)  # text[]
    adapters.register_loader(1001, _ByteaArrayLoader)  # bytea[]


ADAPTERS = psycopg.adapt.AdaptersMap(psycopg.adapters)
"""psycopg's adapters plus the array codecs above (the saver's connections only)."""
register_codecs(ADAPTERS)
