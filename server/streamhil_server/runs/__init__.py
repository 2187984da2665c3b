"""RunManager: one active run per thread; start, resume, cancel, queue, and recovery at startup.

Every thread has a lock that serialises the decisions about it (validate, record, enqueue), and
at most one worker task, started in the manager's task group, that runs the thread's queue one
run at a time. Every acknowledged fact is one storage write (see ``docs/server.md``, "The
durable path"):

- ``start_run``: the thread's record and the run (with its input, ``queued``), before the reply;
- ``resume``: the answer's command writes, the answered ids, the run and the thread's record,
  in one transaction, before the reply (a queued answer: its run and ids; its command writes
  when its turn comes);
- a superstep: its checkpoint, its events and the run's change to ``running``;
- a run's end: its terminal event, its record and the thread's record.

A restarted server finds each run either ``queued`` (nothing of it ran: it is run again, input
and all) or ``running`` (it is closed with ``run_cancelled``, reason ``shutdown``, and the thread
goes on from its last checkpoint in a new run). Only live threads are kept in memory
(:class:`~.threads.ThreadCache`); others are loaded when a command names them.
"""

from __future__ import annotations

from .core import OnAccepted
from .shared import SharedRuns

__all__ = ["RunManager", "OnAccepted"]


class RunManager(SharedRuns):
    """Owns the runs of every thread; :meth:`run` must be running in a task group.

    Its parts, one module each: :mod:`.core` (state and lookups), :mod:`.answers` (recording
    answers), :mod:`.execution` (workers and runs), :mod:`.recovery` (startup), :mod:`.admission`
    (start, resume, cancel), :mod:`.queries` (state, history, lists) and :mod:`.shared` (several
    processes on one database: leases, forwarding, takeover).
    """
