"""Helpers shared by the replies tests (imported relatively: `from .helpers import ...`)."""

from __future__ import annotations

from pathlib import Path

from commandlang.registry.model import ArgSpec, CommandSpec, RegistrySpec, Settings, TypeSpec

#: The repository root, where the sample commands.yaml and templates/ live.
ROOT = Path(__file__).resolve().parents[2]


def pay_command(**changes: object) -> CommandSpec:
    """A command with a sensitive card number, for masking tests."""
    base = dict(
        name="pay",
        summary="Pay an invoice",
        args=(
            ArgSpec("invoice", TypeSpec("int"), positional=True, required=True),
            ArgSpec("card", TypeSpec("str"), required=True, sensitive=True),
            ArgSpec("note", TypeSpec("str")),
        ),
    )
    base.update(changes)
    return CommandSpec(**base)  # type: ignore[arg-type]


def small_registry(*commands: CommandSpec) -> RegistrySpec:
    return RegistrySpec(
        version=1,
        settings=Settings(),
        backends={},
        commands={c.name: c for c in commands},
        aliases={a: c.name for c in commands for a in c.aliases},
    )


# -- checking compiled Genesys messages against the documented schema ------


def schema_problems(value: object, schema: dict, definitions: dict, path: str = "$") -> list[str]:
    """What in `value` breaks a Swagger 2.0 schema: required fields, types, enums, unknown properties."""
    if "$ref" in schema:
        return schema_problems(value, definitions[schema["$ref"].rsplit("/", 1)[1]], definitions, path)
    problems: list[str] = []
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if not isinstance(value, dict):
            return [f"{path}: expected an object"]
        for name in schema.get("required", []):
            if name not in value:
                problems.append(f"{path}: missing required {name}")
        properties = schema.get("properties", {})
        for name, item in value.items():
            if name not in properties:
                problems.append(f"{path}: unknown property {name}")
            else:
                problems += schema_problems(item, properties[name], definitions, f"{path}.{name}")
    elif kind == "array":
        if not isinstance(value, list):
            return [f"{path}: expected an array"]
        for index, item in enumerate(value):
            problems += schema_problems(item, schema["items"], definitions, f"{path}[{index}]")
    elif kind == "string":
        if not isinstance(value, str):
            problems.append(f"{path}: expected a string")
        elif "enum" in schema and value not in schema["enum"]:
            problems.append(f"{path}: {value!r} is not one of {schema['enum']}")
    return problems
