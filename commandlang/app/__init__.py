"""The composition root: `Service` assembles the runtime's ports, the channels and the sync hub.

The one package that imports `commandlang.channels` and `commandlang.sync`
together; nothing under `runtime/`, `channels/` or `sync/` imports it.
"""
