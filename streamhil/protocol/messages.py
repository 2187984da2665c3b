"""Every frame of the protocol as a frozen dataclass (spec sections 2, 3 and 5).

Client → server: :class:`Hello` and the commands (:mod:`.commands`). Server → client:
:class:`Welcome`, :class:`Reply`, :class:`ErrorReply` and the events of :mod:`.events`.
``to_wire()`` gives the JSON-ready dict; ``from_wire(fields)`` validates one (strictly for
client frames, which the server decodes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Literal

from ._fields import UNSET, Fields, Unset

__all__ = [
    "PROTOCOL_VERSION",
    "DEFAULT_MAX_FRAME_BYTES",
    "DEFAULT_HEARTBEAT_INTERVAL_MS",
    "DEFAULT_MAX_SEND_QUEUE",
    "MAX_ID_LENGTH",
    "MessageType",
    "STREAM_MODES",
    "DEFAULT_STREAM_MODES",
    "IF_BUSY_POLICIES",
    "IfBusy",
    "Hello",
    "Capabilities",
    "Limits",
    "Welcome",
    "Reply",
    "ErrorReply",
    "UNSET",
    "Unset",
]

PROTOCOL_VERSION = 1
DEFAULT_MAX_FRAME_BYTES = 1_048_576
DEFAULT_HEARTBEAT_INTERVAL_MS = 20_000
DEFAULT_MAX_SEND_QUEUE = 1_000
MAX_ID_LENGTH = 64
#: How deep a frame's JSON may nest. Stored values (checkpoints, the event log) wrap a frame's
#: data a few levels deeper and JSON encoders stop at about 254 levels, so anything deeper is
#: refused at the door, before it creates or changes anything.
MAX_NESTING_DEPTH = 100


class MessageType(StrEnum):
    """The ``type`` of every frame."""

    HELLO = "hello"
    WELCOME = "welcome"
    START_RUN = "start_run"
    RESUME = "resume"
    CANCEL = "cancel"
    SUBSCRIBE = "subscribe"
    UNSUBSCRIBE = "unsubscribe"
    GET_STATE = "get_state"
    GET_HISTORY = "get_history"
    UPDATE_STATE = "update_state"
    LIST_THREADS = "list_threads"
    LIST_GRAPHS = "list_graphs"
    PING = "ping"
    WATCH_THREADS = "watch_threads"
    UNWATCH_THREADS = "unwatch_threads"
    REPLY = "reply"
    ERROR = "error"
    EVENT = "event"
    NOTICE = "notice"


STREAM_MODES: tuple[str, ...] = ("values", "updates", "custom", "messages", "debug", "tasks", "checkpoints", "events")
DEFAULT_STREAM_MODES: tuple[str, ...] = ("values", "updates")
IfBusy = Literal["reject", "enqueue", "interrupt"]
IF_BUSY_POLICIES: tuple[IfBusy, ...] = ("reject", "enqueue", "interrupt")


def _omit_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


# --- handshake -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Hello:
    """The client's first frame: version and credentials. ``batch``: the client accepts several
    server frames in one WebSocket message, as a JSON array of frames (spec section 1.1)."""

    type: ClassVar[MessageType] = MessageType.HELLO
    protocol_version: int = PROTOCOL_VERSION
    token: str | None = None
    client: dict[str, str] | None = None
    batch: bool = False

    def to_wire(self) -> dict[str, Any]:
        return _omit_none(
            {
                "type": "hello",
                "protocol_version": self.protocol_version,
                "token": self.token,
                "client": self.client,
                "batch": True if self.batch else None,  # left out when off: today's hello
            }
        )

    @classmethod
    def from_wire(cls, fields: Fields) -> Hello:
        version = fields.integer("protocol_version", required=True, minimum=1)
        token = fields.text("token", min_len=0, max_len=4096)
        client = fields.sub("client")
        info = None
        if client is not None:
            info = {
                k: v
                for k, v in (("name", client.text("name", max_len=200)), ("version", client.text("version", max_len=200)))
                if v is not None
            }
            client.finish()
        batch = fields.boolean("batch", default=False)
        return cls(protocol_version=version, token=token, client=info, batch=batch)


@dataclass(frozen=True, slots=True, kw_only=True)
class Capabilities:
    """What the server supports (``welcome.capabilities``)."""

    stream_modes: tuple[str, ...] = STREAM_MODES
    if_busy: tuple[str, ...] = IF_BUSY_POLICIES
    features: tuple[str, ...] = ("multi_thread", "replay", "resync", "fork", "breakpoints", "subgraphs")

    def to_wire(self) -> dict[str, Any]:
        return {"stream_modes": list(self.stream_modes), "if_busy": list(self.if_busy), "features": list(self.features)}

    @classmethod
    def from_wire(cls, fields: Fields) -> Capabilities:
        return cls(
            stream_modes=fields.texts("stream_modes", unique=False) or (),
            if_busy=fields.texts("if_busy", unique=False) or (),
            features=fields.texts("features", unique=False) or (),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """The server's limits (``welcome.limits``)."""

    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
    heartbeat_interval_ms: int = DEFAULT_HEARTBEAT_INTERVAL_MS
    max_send_queue: int = DEFAULT_MAX_SEND_QUEUE
    max_commands_in_flight: int | None = None  # None: the server did not say (older servers)

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "max_frame_bytes": self.max_frame_bytes,
            "heartbeat_interval_ms": self.heartbeat_interval_ms,
            "max_send_queue": self.max_send_queue,
        }
        if self.max_commands_in_flight is not None:
            wire["max_commands_in_flight"] = self.max_commands_in_flight
        return wire

    @classmethod
    def from_wire(cls, fields: Fields) -> Limits:
        return cls(
            max_frame_bytes=fields.integer("max_frame_bytes", required=True, minimum=1),
            heartbeat_interval_ms=fields.integer("heartbeat_interval_ms", required=True, minimum=1),
            max_send_queue=fields.integer("max_send_queue", required=True, minimum=1),
            max_commands_in_flight=fields.integer("max_commands_in_flight", minimum=1),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Welcome:
    """The server's answer to a good ``hello``. ``batch``: the server may send several frames in
    one WebSocket message on this connection (only when the hello asked for it)."""

    type: ClassVar[MessageType] = MessageType.WELCOME
    session_id: str
    epoch: str
    protocol_version: int = PROTOCOL_VERSION
    identity: str | None = None
    capabilities: Capabilities = field(default_factory=Capabilities)
    limits: Limits = field(default_factory=Limits)
    server: dict[str, str] = field(default_factory=lambda: {"name": "streamhil", "version": "0.1.0"})
    batch: bool = False

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "type": "welcome",
            "protocol_version": self.protocol_version,
            "session_id": self.session_id,
            "epoch": self.epoch,
            "identity": self.identity,
            "capabilities": self.capabilities.to_wire(),
            "limits": self.limits.to_wire(),
            "server": dict(self.server),
        }
        if self.batch:  # left out when off: a client that did not ask gets today's welcome
            wire["batch"] = True
        return wire

    @classmethod
    def from_wire(cls, fields: Fields) -> Welcome:
        caps = fields.sub("capabilities", required=True)
        limits = fields.sub("limits", required=True)
        server = fields.mapping("server") or {}
        if caps is None or limits is None:  # unreachable: required=True raises first
            raise fields.fail("capabilities", "required field is missing")
        return cls(
            protocol_version=fields.integer("protocol_version", required=True, minimum=1),
            session_id=fields.text("session_id", required=True),
            epoch=fields.text("epoch", required=True),
            identity=fields.text("identity", min_len=0),
            capabilities=Capabilities.from_wire(caps),
            limits=Limits.from_wire(limits),
            server={str(k): str(v) for k, v in server.items()},
            batch=fields.boolean("batch", default=False),
        )


# --- answers ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    """Success for command ``id``; ``result`` is the typed result (see :mod:`.results`)."""

    type: ClassVar[MessageType] = MessageType.REPLY
    id: str
    command: MessageType
    result: Any


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorReply:
    """Failure of command ``id`` (``None``: not attributable, or about the connection)."""

    type: ClassVar[MessageType] = MessageType.ERROR
    id: str | None
    code: str
    message: str
    path: str | None = None
    details: dict[str, Any] | None = None

    def to_wire(self) -> dict[str, Any]:
        return {
            "type": "error",
            "id": self.id,
            "code": str(self.code),
            "message": self.message,
            "path": self.path,
            "details": self.details,
        }

    @classmethod
    def from_wire(cls, fields: Fields) -> ErrorReply:
        return cls(
            id=fields.text("id", max_len=None),
            code=fields.text("code", required=True),
            message=fields.text("message", min_len=0, default=""),
            path=fields.text("path", min_len=0),
            details=fields.mapping("details"),
        )
