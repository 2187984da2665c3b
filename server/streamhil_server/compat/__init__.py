"""Surfaces that let other ecosystems' clients use a streamhil server unchanged.

Each surface is its own module (or small group of modules) calling the run manager and the event
hub in process, so every watcher — dashboard, ``/ws`` clients, HTTP clients — sees the same
runs, the same ``seq``-numbered log and the same answers.
"""
