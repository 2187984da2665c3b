"""Other protocols' surfaces over the same runs, threads and event log: AG-UI (:mod:`.agui`) and
LangGraph's Agent Server API (:mod:`.langgraph_http`: the classic HTTP+SSE API and the v3 thread
protocol).

Each surface calls the run manager and the event hub in process, so every watcher — dashboard,
``/ws`` clients, HTTP clients — sees the same runs, the same ``seq``-numbered log and the same
answers.
"""
