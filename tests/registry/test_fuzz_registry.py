"""Property: lint turns any registry-shaped YAML into findings, never an exception."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from commandlang.linting import lint_file
from commandlang.registry.schema import known_keys

KEYS = sorted(
    {
        k
        for d in (
            "top",
            "settings",
            "backend",
            "auth",
            "retry",
            "arg",
            "command",
            "request",
            "reply",
            "example",
            "example.backend",
            "example.expect",
        )
        for k in known_keys(d)
    }
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        [
            "int",
            "list[int]",
            "enum",
            "str",
            "decimal",
            "date",
            "duration",
            "bool",
            "5s",
            "agent",
            "customer",
            "/x 1",
            "/ping",
            "{order}",
            "GET",
            "http://x",
            "${X}",
            "[a-",
            "2026-01-01",
            "0.10",
            "x.y",
            "bad name",
            "",
            "yes",
        ]
    ),
    st.text(max_size=8),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=5)), inner, max_size=5),
    ),
    max_leaves=25,
)
examples = st.lists(
    st.one_of(
        scalars,
        st.fixed_dictionaries(
            {"input": st.sampled_from(["/ping", "/x 1", "/ticket close 1", "nope", '/x "'])},
            optional={"expect": values, "backend": values, "role": values},
        ),
    ),
    max_size=3,
)
command_bodies = st.fixed_dictionaries(
    {}, optional={**{k: values for k in known_keys("command")}, "examples": examples}
)
commands = st.dictionaries(
    st.sampled_from(["ping", "x", "x.y", "ticket", "ticket.close", "Ping", "rf", "9", "a b"]),
    st.one_of(values, command_bodies),
    max_size=4,
)
registries = st.fixed_dictionaries(
    {"version": st.sampled_from([1, 1, 1, 2, "1"]), "commands": commands},
    optional={"settings": values, "backends": st.dictionaries(st.sampled_from(["orders", "b"]), values, max_size=2)},
)


@settings(max_examples=100)  # each example writes and lints a file
@given(registries)
def test_lint_never_raises(tmp_path_factory, data) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "commands.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    spec, found = lint_file(str(path), env={})
    for diagnostic in found:
        assert diagnostic.code and diagnostic.message
