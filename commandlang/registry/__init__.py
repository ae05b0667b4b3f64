"""Registry: commands.yaml -> frozen specs, with positions for every finding (pure: reads files only)."""

from .loader import build_spec, load_spec
from .model import ArgSpec, BackendSpec, CommandSpec, RegistrySpec, RequestSpec
from .schema import registry_schema

__all__ = [
    "ArgSpec",
    "BackendSpec",
    "CommandSpec",
    "RegistrySpec",
    "RequestSpec",
    "build_spec",
    "load_spec",
    "registry_schema",
]
