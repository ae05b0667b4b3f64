"""Channel adapters: platform events in, replies out (see `commandlang.runtime.messages`)."""
