"""The server with its checkpoints in PostgreSQL (``create_app(checkpointer=PostgresSaver(...))``)
and its store in SQLite: a thread interrupted on one server is answered on the next one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from streamhil_server.demo_graphs import demo_graphs

from .conftest import connect
from .wire import check_seqs

pytest.importorskip("psycopg", reason="PostgresSaver needs the 'postgres' extra")

from streamhil.checkpoint.postgres import PostgresSaver  # noqa: E402


def test_checkpoints_in_postgres_survive_a_restart(make_client: Any, tmp_path: Path, postgres_url: str) -> None:
    db = str(tmp_path / "s.sqlite")
    with (
        PostgresSaver.from_conn_string(postgres_url) as saver,
        make_client(demo_graphs(), db=db, checkpointer=saver) as client,
        connect(client) as wire,
    ):
        tid = wire.request("start_run", graph="publish", input={"topic": "otters"})["thread_id"]
        wire.run_end(tid)
        wire.request("resume", thread_id=tid, value={"approved": True})
        end = wire.run_end(tid)
        assert end["event"] == "run_interrupted"
    with (
        PostgresSaver.from_conn_string(postgres_url) as saver,
        make_client(demo_graphs(), db=db, checkpointer=saver) as client,
        connect(client) as wire,
    ):
        state = wire.request("get_state", thread_id=tid)["state"]
        assert state["next"] and state["values"]["topic"] == "otters"
        last = wire.request("resume", thread_id=tid, value="blog")
        done = wire.run_end(tid, last["run_id"])
        assert done["event"] == "run_done"
        check_seqs(wire.events)
        assert wire.request("get_state", thread_id=tid)["state"]["values"]["channel"] == "blog"
        assert anyio.run(saver.alist_threads) == [tid]
