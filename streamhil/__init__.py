"""streamhil: human-in-the-loop agent graphs on anyio (scaffold; filled in as modules land)."""

from __future__ import annotations

from .constants import END as END
from .constants import START as START
from .errors import GraphRecursionError as GraphRecursionError
from .errors import InvalidUpdateError as InvalidUpdateError
from .types import Command as Command
from .types import Interrupt as Interrupt
from .types import Send as Send
from .types import StateSnapshot as StateSnapshot
