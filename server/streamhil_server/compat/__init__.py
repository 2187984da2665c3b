"""Other protocols' surfaces over the same runs, threads and event log (AG-UI: :mod:`.agui`)."""
