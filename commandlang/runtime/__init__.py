"""Runtime: the Trio service that runs commands (pipeline, state store, reload, operations)."""
