"""The streamhil wire protocol (``docs/protocol.md``): messages, codec, codes and sessions.

Sans-I/O: this package imports only the standard library and orjson.
"""

from __future__ import annotations

from .close_codes import CloseCode as CloseCode
from .close_codes import is_recoverable as is_recoverable
from .codec import decode_client_frame as decode_client_frame
from .codec import decode_server_frame as decode_server_frame
from .codec import decode_server_object as decode_server_object
from .codec import dumps as dumps
from .codec import encode as encode
from .codec import encode_error as encode_error
from .codec import encode_event as encode_event
from .codec import encode_reply as encode_reply
from .errors import ERROR_FAMILY as ERROR_FAMILY
from .errors import EncodeError as EncodeError
from .errors import ErrorCode as ErrorCode
from .errors import ErrorFamily as ErrorFamily
from .errors import InvalidState as InvalidState
from .errors import ProtocolError as ProtocolError
from .errors import family_of as family_of
from .events import *  # noqa: F403
from .events import __all__ as _events_all
from .commands import *  # noqa: F403
from .commands import __all__ as _commands_all
from .messages import *  # noqa: F403
from .messages import __all__ as _messages_all
from .notices import *  # noqa: F403
from .notices import __all__ as _notices_all
from .objects import *  # noqa: F403
from .objects import __all__ as _objects_all
from .results import *  # noqa: F403
from .results import __all__ as _results_all
from .session import ClientSession as ClientSession
from .session import ConnectionClosed as ConnectionClosed
from .session import ServerSession as ServerSession
from .session import SessionState as SessionState

__all__ = [
    "CloseCode",
    "is_recoverable",
    "decode_client_frame",
    "decode_server_frame",
    "decode_server_object",
    "dumps",
    "encode",
    "encode_error",
    "encode_event",
    "encode_reply",
    "ERROR_FAMILY",
    "EncodeError",
    "ErrorCode",
    "ErrorFamily",
    "InvalidState",
    "ProtocolError",
    "family_of",
    "ClientSession",
    "ConnectionClosed",
    "ServerSession",
    "SessionState",
    *_events_all,
    *_messages_all,
    *_commands_all,
    *_notices_all,
    *_objects_all,
    *_results_all,
]
