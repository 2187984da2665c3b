"""Turn state values into bytes and back: JSON (orjson) with tags for the types JSON lacks.

Plain JSON values (``dict`` with ``str`` keys, ``list``, ``str``, ``int``, ``float``, ``bool``,
``None``) are written as they are. A ``dict`` with other keys is stored as tagged pairs, its keys
encoded like values, so ``{1: "a", (2, 3): "b"}`` loads back with the same int and tuple keys. These round-trip too, each as a small tagged object
``{"__sh__": <tag>, ...}``: ``tuple``, ``set``, ``frozenset``, ``bytes``, ``bytearray``,
``datetime`` (offset or zoneinfo zone kept), ``date``, ``time``, ``timedelta``, ``UUID``,
``Decimal``, integers beyond 64 bits, NaN and infinities, and instances of module-level
dataclasses, enums, named tuples and pydantic models (v2 and v1; streamhil's ``Interrupt``,
``Send``, ``Command`` and ``Overwrite`` are dataclasses, LangChain's messages and documents are
pydantic models), which are rebuilt as the same class, imported by module and qualified name.
Subclasses of ``dict``, ``list``, ``tuple``, ``str``, ``int`` and ``float`` are stored as their
base type. Anything else raises :class:`~streamhil.errors.SerializationError`, naming where the
value sits and its type, before anything is written.

Loading imports the classes named in the data; it refuses a name that is not a dataclass, enum,
named tuple or pydantic model. Load only data your own application wrote.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import enum
import gc
import importlib
import sys
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from itertools import repeat
from math import isfinite
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from ..errors import SerializationError
from . import _pydantic

__all__ = ["dumps", "loads", "dumps_channels", "TAG"]

TAG = "__sh__"
"""The key that marks a tagged object in the stored JSON."""

_TAGGED_MARK = b" "
_TAGGED_MARKS = (b" ", " ")
_INT_MIN = -(2**63)
_INT_MAX = 2**64 - 1
_NoneType = type(None)
_SUPPORTED = (
    "JSON types, tuples, sets, bytes, datetimes, UUID, Decimal, enums, named tuples, "
    "or module-level dataclasses or pydantic models"
)


class _Unstorable(Exception):
    """Raised inside the walk; collects the path on its way out."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.path: list[str] = []


# -- the fast check for big plain values -----------------------------------------------------

_JSON_TYPES = frozenset({str, int, float, bool, _NoneType, dict, list})
_SCAN_MIN_ITEMS = 64  # smaller values are cheaper to walk than to scan
_SCAN_MAX_DEPTH = 254  # orjson refuses deeper data anyway
_SCAN_MAX_ITEMS = 1_000_000  # bounds the work on a value that contains itself
_SCAN_ENABLED = sys.implementation.name == "cpython"  # relies on dict/list tp_traverse, below


def _is_plain_json(value: list[Any] | dict[str, Any]) -> bool:
    """True only if ``value`` holds nothing but exact JSON types, finite floats and no ``TAG``
    key, so that ``orjson.dumps(value)`` round-trips it exactly; False means "not sure".

    It looks at the value one nesting level at a time, with C-speed steps only: the set of
    types on a level, then the level's children through ``gc.get_referents`` (CPython's
    ``tp_traverse`` of a ``dict`` visits every value, and also every key unless all keys are
    exact ``str``; of a ``list``, every item). The number of children must equal the total
    length of the containers, which holds exactly when the values alone were visited; any other
    count gives up. Non-str keys, integers beyond 64 bits and lone surrogates are left to
    orjson, which refuses them.
    """
    level: list[Any] = [value]
    seen = 0
    for _ in range(_SCAN_MAX_DEPTH):
        types = set(map(type, level))
        if not types <= _JSON_TYPES:
            return False
        has_dict = dict in types
        if len(types) == 1 and (has_dict or list in types):
            containers = level
        elif has_dict or list in types:
            containers = [x for x in level if x.__class__ is dict or x.__class__ is list]
        else:
            containers = []
        if float in types and not all(isfinite(x) for x in level if x.__class__ is float):
            return False
        if not containers:
            return True
        if has_dict:
            dicts = containers if len(types) == 1 else [x for x in containers if x.__class__ is dict]
            if any(map(dict.__contains__, dicts, repeat(TAG))):
                return False
        level = gc.get_referents(*containers)
        if len(level) != sum(map(len, containers)):
            return False
        seen += len(level)
        if seen > _SCAN_MAX_ITEMS:
            return False
    return False


# -- encoding -------------------------------------------------------------------------------


def _encode(x: Any) -> Any:
    """``x`` as orjson-ready data; ``x`` itself when it is already plain JSON (no copy)."""
    t = type(x)
    if t is str or t is bool or x is None:
        return x
    if t is int:
        return x if _INT_MIN <= x <= _INT_MAX else {TAG: "int", "v": str(x)}
    if t is float:
        return x if x - x == 0 else {TAG: "float", "v": repr(x)}
    if t is dict:
        return _encode_dict(x)
    if t is list:
        return _encode_list(x)
    encoder = _ENCODERS.get(t)
    if encoder is not None:
        return encoder(x)
    return _encode_other(x)


def _encode_list(x: list[Any]) -> list[Any]:
    out: list[Any] | None = None
    for i, v in enumerate(x):
        # Inline checks for the plain types keep the common case cheap.
        t = type(v)
        if t is str or t is bool or v is None:
            continue
        if t is int:
            if _INT_MIN <= v <= _INT_MAX:
                continue
        elif t is float:
            if v - v == 0:
                continue
        try:
            e = _encode_dict(v) if t is dict else _encode(v)
        except _Unstorable as exc:
            exc.path.append(f"[{i}]")
            raise
        if e is not v:
            if out is None:
                out = list(x)
            out[i] = e
    return x if out is None else out


def _encode_dict(x: dict[Any, Any]) -> Any:
    # Keys are checked by orjson itself (see dumps); only values are walked here.
    out: dict[str, Any] | None = None
    for k, v in x.items():
        t = type(v)
        if t is str or t is bool or v is None:
            continue
        if t is int:
            if _INT_MIN <= v <= _INT_MAX:
                continue
        elif t is float:
            if v - v == 0:
                continue
        try:
            e = _encode_list(v) if t is list else _encode(v)
        except _Unstorable as exc:
            exc.path.append(f"[{k!r}]")
            raise
        if e is not v:
            if out is None:
                out = dict(x)
            out[k] = e
    if TAG in x:  # a user dict that looks like a tag: store it as pairs
        return {TAG: "dict", "v": [[_encode_key(key), value] for key, value in (out or x).items()]}
    return x if out is None else out


# -- dict keys that are not str ---------------------------------------------------------------
# orjson checks keys itself, so the walk above never looks at them. Only when orjson refuses a
# key does dumps() call _encode_keys on the walked data: each dict with a key that is not an
# exact str becomes the tagged pairs form ``{TAG: "dict", "v": [[key, value], ...]}``, its keys
# encoded like values. Plain str-keyed data never pays for this.


def _encode_key(key: Any) -> Any:
    """A dict key as orjson-ready data that loads back as an equal, hashable key."""
    if type(key) is str:
        return key
    try:
        encoded = _encode(key)
    except _Unstorable:
        raise _Unstorable(
            f"has the key {key!r} of type {_type_name(key)}; dict keys must be str or hashable "
            f"values of the types streamhil stores ({_SUPPORTED})"
        ) from None
    if type(encoded) is list or (type(encoded) is dict and encoded.get(TAG, "dict") == "dict"):
        raise _Unstorable(
            f"has the key {key!r} of type {_type_name(key)}, which would load back as an "
            f"unhashable {'list' if type(encoded) is list else 'dict'}"
        )
    return _encode_keys(encoded)


def _encode_keys(x: Any) -> Any:
    """Walked data ``x`` with every dict that has a non-str key in the pairs form (copies only
    what changes; ``x`` itself when nothing does)."""
    t = type(x)
    if t is list:
        out: list[Any] | None = None
        for i, v in enumerate(x):
            if type(v) is list or type(v) is dict:
                e = _encode_keys(v)
                if e is not v:
                    if out is None:
                        out = list(x)
                    out[i] = e
        return x if out is None else out
    if t is not dict:
        return x
    values: dict[Any, Any] | None = None
    for k, v in x.items():
        if type(v) is list or type(v) is dict:
            e = _encode_keys(v)
            if e is not v:
                if values is None:
                    values = dict(x)
                values[k] = e
    items = x if values is None else values
    for k in items:
        if type(k) is not str:
            return {TAG: "dict", "v": [[_encode_key(k), v] for k, v in items.items()]}
    return items


def _find_bad_key(x: Any) -> None:
    """Raise the ``_Unstorable`` of the first key in ``x`` (the user's value) that cannot be
    stored, with its path; finds keys in dicts, lists, tuples and sets, not in other objects."""
    if isinstance(x, dict):
        for k, v in x.items():
            _encode_key(k)
            try:
                _find_bad_key(v)
            except _Unstorable as exc:
                exc.path.append(f"[{k!r}]")
                raise
    elif isinstance(x, (list, tuple, set, frozenset)):
        for i, v in enumerate(x):
            try:
                _find_bad_key(v)
            except _Unstorable as exc:
                exc.path.append(f"[{i}]")
                raise


def _encode_items(x: Any) -> list[Any]:
    items = list(x)
    return _encode_list(items)


def _encode_datetime(x: dt.datetime) -> dict[str, Any]:
    tz = x.tzinfo
    if isinstance(tz, ZoneInfo) and tz.key:
        return {TAG: "datetime", "v": x.replace(tzinfo=None).isoformat(), "zone": tz.key, "fold": x.fold}
    return _with_fold({TAG: "datetime", "v": x.isoformat()}, x.fold)


def _with_fold(tagged: dict[str, Any], fold: int) -> dict[str, Any]:
    """isoformat() drops ``fold`` (which of two repeated wall times); keep it when set."""
    if fold:
        tagged["fold"] = fold
    return tagged


_ENCODERS: dict[type, Callable[[Any], Any]] = {
    tuple: lambda x: {TAG: "tuple", "v": _encode_items(x)},
    set: lambda x: {TAG: "set", "v": _encode_items(x)},
    frozenset: lambda x: {TAG: "frozenset", "v": _encode_items(x)},
    bytes: lambda x: {TAG: "bytes", "v": base64.b64encode(x).decode()},
    bytearray: lambda x: {TAG: "bytearray", "v": base64.b64encode(x).decode()},
    dt.datetime: _encode_datetime,
    dt.date: lambda x: {TAG: "date", "v": x.isoformat()},
    dt.time: lambda x: _with_fold({TAG: "time", "v": x.isoformat()}, x.fold),
    dt.timedelta: lambda x: {TAG: "timedelta", "v": [x.days, x.seconds, x.microseconds]},
    uuid.UUID: lambda x: {TAG: "uuid", "v": str(x)},
    Decimal: lambda x: {TAG: "decimal", "v": str(x)},
}


def _encode_other(x: Any) -> Any:
    """Dataclasses, enums, named tuples, pydantic models, and subclasses of the plain types."""
    cls = type(x)
    if isinstance(x, enum.Enum):
        return {TAG: "enum", "cls": _class_ref(cls), "v": _encode(x.value)}
    if isinstance(x, tuple) and hasattr(cls, "_fields"):
        return {TAG: "namedtuple", "cls": _class_ref(cls), "v": _encode_items(x)}
    names = _dataclass_fields(cls)
    if names is not None:
        return {TAG: "dataclass", "cls": _class_ref(cls), "v": _encode_fields(x, names)}
    model = _pydantic.model_kind(cls)
    if model is not None:
        tag, names = model
        ref = _class_ref(cls)
        values = _encode_fields(x, names)
        extra = _pydantic.extra_values(x, tag)
        if extra:
            values.update(_encode_fields(extra, tuple(extra), dict.__getitem__))
        return {TAG: tag, "cls": ref, "v": values, "set": _pydantic.fields_set(x, tag)}
    for base in (dict, list, tuple, str, int, float):
        if isinstance(x, base):
            plain: Any = base
            return _encode(plain(x))
    raise _Unstorable(f"has type {_type_name(x)}, which streamhil cannot store; use {_SUPPORTED}")


def _encode_fields(
    x: Any, names: tuple[str, ...], get: Callable[[Any, str], Any] = getattr
) -> dict[str, Any]:
    """``get(x, name)`` for each name, encoded; an error's path names the attribute."""
    values: dict[str, Any] = {}
    name = ""
    try:
        for name in names:
            values[name] = _encode(get(x, name))
    except _Unstorable as exc:
        exc.path.append(f".{name}")
        raise
    return values


_field_cache: dict[type, tuple[str, ...] | None] = {}


def _dataclass_fields(cls: type) -> tuple[str, ...] | None:
    try:
        return _field_cache[cls]
    except KeyError:
        pass
    names = (
        tuple(f.name for f in dataclasses.fields(cls)) if dataclasses.is_dataclass(cls) else None
    )
    _field_cache[cls] = names
    return names


_ref_cache: dict[type, str] = {}


def _class_ref(cls: type) -> str:
    """``module:qualname`` of a class that can be imported back; raises if it cannot."""
    ref = _ref_cache.get(cls)
    if ref is not None:
        return ref
    ref = f"{cls.__module__}:{cls.__qualname__}"
    try:
        found = _import(ref)
    except Exception:
        found = None
    if found is not cls:
        raise _Unstorable(
            f"is an instance of {_type_name(cls, is_type=True)}, which cannot be imported back "
            "by module and name (define the class at module level)"
        )
    _ref_cache[cls] = ref
    return ref


def _type_name(x: Any, *, is_type: bool = False) -> str:
    cls = x if is_type else type(x)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def _describe(where: object, exc: _Unstorable) -> str:
    path = "".join(reversed(exc.path))
    subject = where or "value"
    at = f"the value at {path}" if path else "the value"
    return f"cannot store {subject}: {at} {exc.problem}"


def dumps(value: Any, *, where: object = None) -> bytes:
    """Serialise ``value`` to JSON bytes. ``where`` names it in errors (e.g. "channel 'x'"; any
    object whose ``str()`` does, formatted only when an error happens).

    :raises ~streamhil.errors.SerializationError: the value holds something that cannot be
        stored; the message names its place and type.
    """
    t = type(value)
    if (
        (t is dict or t is list)
        and len(value) >= _SCAN_MIN_ITEMS
        and _SCAN_ENABLED
        and _is_plain_json(value)
    ):
        try:
            return bytes(memoryview(orjson.dumps(value)))  # a copy: see the end
        except orjson.JSONEncodeError:
            pass  # the walk finds what orjson refused and names it
    try:
        encoded = _encode(value)
        try:
            data = orjson.dumps(encoded)
        except orjson.JSONEncodeError as exc:
            try:  # a dict key that is not a str? store that dict as pairs
                keyed = _encode_keys(encoded)
            except _Unstorable:
                _find_bad_key(value)  # raises again naming the place, when it can
                raise
            if keyed is encoded:
                raise SerializationError(f"cannot store {where or 'value'}: {exc}") from None
            encoded = keyed
            try:
                data = orjson.dumps(encoded)
            except orjson.JSONEncodeError as again:
                raise SerializationError(f"cannot store {where or 'value'}: {again}") from None
    except _Unstorable as exc:
        raise SerializationError(_describe(where, exc)) from None
    except RecursionError:
        raise SerializationError(
            f"cannot store {where or 'value'}: it is nested too deeply or contains itself"
        ) from None
    # The walk copies a container only when something inside it changed, so ``encoded is
    # value`` means "no tags anywhere". Tagged data gets a leading space (still valid JSON),
    # which lets loads() skip the walk for plain data by looking at one byte.
    if encoded is value:
        # orjson (3.13) hands back its whole write buffer (at least 4 KB, and for long strings
        # many times the output) as the bytes object; stored values are kept, so keep a copy
        # of exactly the output instead (``bytes(data)`` would return ``data`` itself).
        return bytes(memoryview(data))
    return _TAGGED_MARK + data


def dumps_channels(values: Mapping[str, Any]) -> dict[str, bytes]:
    """Serialise each channel's value; an error names the channel."""
    return {key: dumps(value, where=f"channel {key!r}") for key, value in values.items()}


# -- decoding -------------------------------------------------------------------------------


def loads(data: bytes | str) -> Any:
    """The value :func:`dumps` serialised.

    :raises ~streamhil.errors.SerializationError: the data names a class that cannot be
        imported or is not allowed, or holds an unknown tag.
    """
    value = orjson.loads(data)
    if data[:1] not in _TAGGED_MARKS:
        return value
    return _decode(value)


def _decode(x: Any) -> Any:
    t = type(x)
    if t is list:
        for i, v in enumerate(x):
            if type(v) is list or type(v) is dict:
                x[i] = _decode(v)
        return x
    if t is dict:
        tag = x.get(TAG)
        if tag is not None:
            decoder = _DECODERS.get(tag)
            if decoder is None:
                raise SerializationError(f"cannot load a value tagged {tag!r}: unknown tag")
            return decoder(x)
        for k, v in x.items():
            if type(v) is list or type(v) is dict:
                x[k] = _decode(v)
        return x
    return x


def _decode_list(x: dict[str, Any]) -> list[Any]:
    items = x["v"]
    return _decode(items)


def _decode_datetime(x: dict[str, Any]) -> dt.datetime:
    value = dt.datetime.fromisoformat(x["v"])
    if "zone" in x:
        value = value.replace(tzinfo=ZoneInfo(x["zone"]))
    return value.replace(fold=x.get("fold", 0))


def _decode_dataclass(x: dict[str, Any]) -> Any:
    cls = _resolve(x["cls"], "dataclass")
    obj = cls.__new__(cls)
    try:
        for name, value in x["v"].items():
            object.__setattr__(obj, name, _decode(value))
    except AttributeError as exc:
        raise SerializationError(f"cannot load {x['cls']}: {exc} (has the class changed?)") from None
    return obj


def _decode_model(x: dict[str, Any]) -> Any:
    """A pydantic model, rebuilt with its validation-free constructor (as LangGraph does)."""
    tag = x[TAG]
    cls = _resolve(x["cls"], tag)
    values = {name: _decode(value) for name, value in x["v"].items()}
    try:
        return _pydantic.construct(cls, tag, values, x.get("set"))
    except Exception as exc:
        raise SerializationError(f"cannot load {x['cls']}: {exc!r} (has the class changed?)") from None


def _decode_enum(x: dict[str, Any]) -> enum.Enum:
    cls = _resolve(x["cls"], "enum")
    return cls(_decode(x["v"]))


def _decode_namedtuple(x: dict[str, Any]) -> tuple[Any, ...]:
    cls = _resolve(x["cls"], "namedtuple")
    return cls(*_decode(x["v"]))


_DECODERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "tuple": lambda x: tuple(_decode_list(x)),
    "set": lambda x: set(_decode_list(x)),
    "frozenset": lambda x: frozenset(_decode_list(x)),
    "bytes": lambda x: base64.b64decode(x["v"]),
    "bytearray": lambda x: bytearray(base64.b64decode(x["v"])),
    "datetime": _decode_datetime,
    "date": lambda x: dt.date.fromisoformat(x["v"]),
    "time": lambda x: dt.time.fromisoformat(x["v"]).replace(fold=x.get("fold", 0)),
    "timedelta": lambda x: dt.timedelta(days=x["v"][0], seconds=x["v"][1], microseconds=x["v"][2]),
    "uuid": lambda x: uuid.UUID(x["v"]),
    "decimal": lambda x: Decimal(x["v"]),
    "int": lambda x: int(x["v"]),
    "float": lambda x: float(x["v"]),
    "dict": lambda x: {_decode(k): _decode(v) for k, v in x["v"]},
    "dataclass": _decode_dataclass,
    "enum": _decode_enum,
    "namedtuple": _decode_namedtuple,
    _pydantic.V2: _decode_model,
    _pydantic.V1: _decode_model,
}


def _import(ref: str) -> Any:
    module_name, _, qualname = ref.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


_KIND_CHECKS: dict[str, Callable[[Any], bool]] = {
    "dataclass": lambda obj: dataclasses.is_dataclass(obj),
    "enum": lambda obj: issubclass(obj, enum.Enum),
    "namedtuple": lambda obj: issubclass(obj, tuple) and hasattr(obj, "_fields"),
    _pydantic.V2: lambda obj: _pydantic.is_model(obj, _pydantic.V2),
    _pydantic.V1: lambda obj: _pydantic.is_model(obj, _pydantic.V1),
}
_resolved: dict[tuple[str, str], type] = {}


def _resolve(ref: str, kind: str) -> Any:
    """The class ``ref`` names, checked to be of ``kind``."""
    cls = _resolved.get((ref, kind))
    if cls is not None:
        return cls
    try:
        found = _import(ref)
    except Exception as exc:
        raise SerializationError(f"cannot load a {kind} of class {ref}: {exc!r}") from None
    if not isinstance(found, type) or not _KIND_CHECKS[kind](found):
        raise SerializationError(f"refusing to load {ref}: it is not a {kind}")
    _resolved[(ref, kind)] = found
    return found
