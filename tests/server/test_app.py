"""HTTP endpoints, the browser assets, mounting inside a host app, and the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient
from streamhil_server import ServerSettings, create_app
from streamhil_server.__main__ import _registry, _tokens, build_parser
from streamhil_server.demo_graphs import demo_graphs
from streamhil_server.registry import GraphLoadError, GraphRegistry, load_reference

from .conftest import connect
from .graphs import counter


METRICS = {"authorization": "Bearer metrics-secret"}


def test_healthz_and_metrics(make_client: Any) -> None:
    settings = ServerSettings(metrics_token="metrics-secret")
    with make_client(demo_graphs(), settings=settings) as client:
        health = client.get("/healthz").json()
        assert health["status"] == "ok" and health["epoch"].startswith("e-")
        assert "graphs" not in health  # a server with tokens does not name its graphs to strangers
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"authorization": "Bearer alice-token"}).status_code == 401
        with connect(client) as wire:
            tid = wire.request("start_run", graph="validation", input={})["thread_id"]
            wire.run_end(tid)
            metrics = client.get("/metrics", headers=METRICS).json()
            assert metrics["connections"] == 1 and metrics["threads"] == 1
            assert metrics["runs"] == {"active": 0, "queued": 0, "started": 1, "finished": 1}
            assert metrics["interrupts_pending"] == 1
            assert metrics["events"]["total"] == len(wire.events) and metrics["events"]["watchers"] == 1
        text = client.get("/metrics?format=prometheus", headers=METRICS).text
        assert "streamhil_interrupts_pending 1" in text and "streamhil_connections 0" in text
        assert "# TYPE streamhil_events_total counter" in text


def test_metrics_without_a_metrics_token(make_client: Any) -> None:
    with make_client(demo_graphs()) as client:  # tokens, no metrics token: off
        refused = client.get("/metrics")
        assert refused.status_code == 403 and "--metrics-token" in refused.text
    with make_client(demo_graphs(), tokens=None) as client:  # open server: open, loopback hosts only
        client.base_url = client.base_url.copy_with(host="localhost")
        assert client.get("/metrics").json()["graphs"] == len(demo_graphs())
        assert set(client.get("/healthz").json()["graphs"]) == set(demo_graphs())


def test_web_assets(make_client: Any) -> None:
    with make_client(demo_graphs()) as client:
        root = client.get("/", follow_redirects=False)
        assert root.status_code == 307 and root.headers["location"] == "/chat/"
        assert client.get("/dashboard", follow_redirects=False).headers["location"] == "/dashboard/"
        # the query string survives the redirects (the token and ?ws= the pages read)
        assert client.get("/?token=s3cret&ws=x", follow_redirects=False).headers["location"] == "/chat/?token=s3cret&ws=x"
        assert client.get("/dashboard?token=a%26b", follow_redirects=False).headers["location"] == "/dashboard/?token=a%26b"
        assert client.get("/chat?token=t", follow_redirects=False).headers["location"] == "/chat/?token=t"
        chat = client.get("/chat/")
        assert chat.status_code == 200 and chat.headers["content-type"].startswith("text/html")
        assert "<" in chat.text
        js = client.get("/lib/protocol.js")
        assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
        assert client.get("/__init__.py").status_code == 404  # never the package's Python
        assert client.get("/lib/../__init__.py").status_code == 404
        assert client.get("/nope.js").status_code == 404


def test_mounted_in_a_host_app(anyio_backend: str) -> None:
    hil = create_app({"counter": counter()}, web=False)
    host = Starlette(routes=[Mount("/hil", app=hil)], lifespan=hil.router.lifespan_context)
    with TestClient(host, backend=anyio_backend, base_url="http://localhost") as client:
        assert client.get("/hil/healthz").json()["graphs"] == ["counter"]
        with connect(client, None, url="ws://localhost/hil/ws") as wire:
            tid = wire.request("start_run", graph="counter", input={"n": 1})["thread_id"]
            assert wire.run_end(tid)["event"] == "run_done"
        assert client.get("/hil/").status_code == 404  # web=False


def test_not_started_app_refuses(anyio_backend: str) -> None:
    hil = create_app({"counter": counter()})
    host = Starlette(routes=[Mount("/hil", app=hil)])  # the host forgot the lifespan
    with TestClient(host, backend=anyio_backend, base_url="http://localhost") as client:
        assert client.get("/hil/healthz").status_code == 503


def test_a_runtime_that_stops_by_itself_is_reported_and_refuses(anyio_backend: str) -> None:
    """A background worker of the runtime fails while serving: ``on_failure`` hears it (the
    command line exits on it) and the app stops answering as if it were fine."""
    import threading

    import anyio

    failed: list[BaseException] = []
    heard = threading.Event()

    def on_failure(exc: BaseException) -> None:
        failed.append(exc)
        heard.set()

    app = create_app({"counter": counter()}, web=False, on_failure=on_failure)
    runtime = app.state.runtime
    trigger = anyio.Event()

    async def failing_worker(*, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        await trigger.wait()
        raise ValueError("a worker's bug")

    runtime.notifier.run = failing_worker  # started with the runtime's other workers
    with pytest.raises(BaseExceptionGroup) as raised:  # the lifespan ends with the failure, for the host
        with TestClient(app, backend=anyio_backend, base_url="http://localhost") as client:
            assert client.get("/healthz").json()["status"] == "ok"
            assert client.get("/livez").json()["status"] == "ok"
            client.portal.call(trigger.set)  # type: ignore[union-attr]
            assert heard.wait(10)
            stopped = client.get("/healthz")
            assert (stopped.status_code, stopped.json()["status"]) == (503, "stopped")
            stopped = client.get("/livez")  # (the liveness check: restart it)
            assert (stopped.status_code, stopped.json()["status"]) == (503, "stopped")
    assert raised.group_contains(ValueError, match="a worker's bug")
    assert failed[0] is raised.value


def test_registry_errors(tmp_path: Path) -> None:
    with pytest.raises(GraphLoadError, match="not a graph"):
        GraphRegistry({"x": object()})
    from langgraph.graph import START as LG_START, StateGraph as LangGraphStateGraph

    from .graphs import S as CounterState

    built = LangGraphStateGraph(CounterState)
    built.add_node("n", lambda s: s)
    built.add_edge(LG_START, "n")
    with pytest.raises(GraphLoadError, match="built with LangGraph .*rename langgraph to streamhil"):
        GraphRegistry({"x": built.compile()})
    registry = GraphRegistry({"x": counter()})
    assert registry.add("built", counter().builder).graph.nodes  # a StateGraph is compiled
    with pytest.raises(GraphLoadError, match="two graphs are named"):
        registry.add("x", counter())
    with pytest.raises(GraphLoadError, match="must look like"):
        load_reference("no_colon")
    with pytest.raises(GraphLoadError, match="no file"):
        load_reference(str(tmp_path / "missing.py") + ":graph")
    module = tmp_path / "mygraphs.py"
    module.write_text("from tests.server.graphs import counter\ngraph = counter()\nnot_a_graph = 3\n")
    name, graph = load_reference(f"renamed={module}:graph")
    assert name == "renamed" and graph.nodes
    with pytest.raises(GraphLoadError, match="has no attribute"):
        load_reference(f"{module}:nothing")
    with pytest.raises(GraphLoadError, match="cannot import"):
        load_reference("no.such.module:graph")


def test_command_line(tmp_path: Path) -> None:
    args = build_parser().parse_args(["--demo", "--token", "alice:s3cret", "--token", "plain"])
    assert (args.host, args.port, args.db) == ("127.0.0.1", 8000, None)
    assert _tokens(args.token) == {"s3cret": "alice", "plain": "user"}
    assert "tool_review" in _registry(args).names()
    paced = _registry(build_parser().parse_args(["--demo", "--demo-token-delay-ms", "25"]))
    assert paced.get("tool_review") is not None
    with pytest.raises(SystemExit, match="between 0 and 10000"):
        _registry(build_parser().parse_args(["--demo", "--demo-token-delay-ms", "-5"]))
    with pytest.raises(SystemExit, match="no graphs to serve"):
        _registry(build_parser().parse_args([]))
    with pytest.raises(SystemExit, match="must look like"):
        _registry(build_parser().parse_args(["nonsense"]))
    with pytest.raises(SystemExit, match="expected IDENTITY:TOKEN"):
        _tokens([":x"])


def test_command_line_defences() -> None:
    from streamhil_server.__main__ import _allowed_hosts

    args = build_parser().parse_args(["--demo", "--allow-host", "hil.example", "--metrics-token", "m",
                                      "--request-timeout", "2.5"])
    assert args.allow_host == ["hil.example"] and args.metrics_token == "m" and args.request_timeout == 2.5
    assert build_parser().parse_args(["--demo"]).request_timeout == 10.0
    assert _allowed_hosts("127.0.0.1", []) == ("127.0.0.1",)
    assert _allowed_hosts("0.0.0.0", []) is None  # loopback names only, on a server without tokens
    assert _allowed_hosts("0.0.0.0", ["hil.example"]) == ("hil.example",)
    assert _allowed_hosts("192.168.1.5", []) == ("192.168.1.5",)  # the address the user chose


def test_garbage_collector_settings_of_the_command_line() -> None:
    import gc

    from streamhil_server.__main__ import _main
    from streamhil_server.gc_tuning import DEFAULT_THRESHOLD, tune_garbage_collector

    assert build_parser().parse_args(["--demo"]).gc_threshold == DEFAULT_THRESHOLD
    assert build_parser().parse_args(["--demo", "--gc-threshold", "700"]).gc_threshold == 700
    with pytest.raises(SystemExit, match="--gc-threshold must be at least 1"):
        _main(["--demo", "--port", "0", "--gc-threshold", "0"])
    with pytest.raises(ValueError, match="at least 1"):
        tune_garbage_collector(0)
    before = gc.get_threshold()
    try:
        tune_garbage_collector(12_345)
        assert gc.get_threshold() == (12_345, *before[1:])
        assert gc.get_freeze_count() > 0  # what was loaded is left out of later collections
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--port", "70000"], "--port"),
        (["--port", "-1"], "--port"),
        (["--max-send-queue", "0"], "--max-send-queue"),
        (["--max-send-queue", "-5"], "--max-send-queue"),
        (["--event-flush-delay", "-1"], "--event-flush-delay"),
        (["--event-flush-delay", "nan"], "--event-flush-delay"),
        (["--request-timeout", "nan"], "--request-timeout"),
        (["--request-timeout", "0"], "--request-timeout"),
        (["--lease-ttl", "0"], "--lease-ttl"),
        (["--allow-host="], "--allow-host"),
        (["--allow-origin", ""], "--allow-origin"),
        (["--metrics-token", ""], "--metrics-token"),
        (["--token", "alice:same", "--token", "bob:same"], "two identities"),
        (["--db", "mysql://x/y"], "mysql:// is not supported"),
        (["--db", "/nonexistent/dir/x.sqlite"], "does not exist"),
        (["--db", "."], "is a directory"),
        (["--db", "postgresql://nobody@127.0.0.1:1/x"], "cannot connect to PostgreSQL"),
        (["--workers", "0"], "--workers"),
        (["--gc-threshold", "0"], "--gc-threshold"),
        (["--demo-token-delay-ms", "-5"], "--demo-token-delay-ms"),
    ],
)
def test_a_bad_flag_value_is_one_line_and_exit_status_2(flags: list[str], named: str, capsys: Any) -> None:
    """As argparse's own refusals: nothing starts, no traceback."""
    from streamhil_server.__main__ import main

    if "postgresql://" in " ".join(flags):
        pytest.importorskip("psycopg")
    with pytest.raises(SystemExit) as stopped:
        main(["--demo", "--port", "0", *flags])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("streamhil-server: ") and named in err, err
    assert "Traceback" not in err


def test_the_flag_values_that_are_fine(tmp_path: Path) -> None:
    from streamhil_server.cli_checks import check_db, check_flags

    args = build_parser().parse_args(["--demo", "--port", "0", "--max-send-queue", "1", "--event-flush-delay", "0",
                                      "--lease-ttl", "0.2", "--allow-origin", "*", "--allow-host", ".example.com"])
    check_flags(args)
    check_db(None)
    check_db(str(tmp_path / "new.sqlite"))
    assert _tokens(["alice:t", "alice:t", "bob:u"]) == {"t": "alice", "u": "bob"}
