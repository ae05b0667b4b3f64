"""The official SDK's models as the oracle for the bot bodies we send through the public API.

`sdk_problems("BotList", body)`: every way the JSON body disagrees with that SDK type (unknown
fields, wrong JSON types, values outside an enum), each as "path: problem". It is the fake
Genesys's own oracle (`commandlang.testing.fake_genesys.oracle`), so there is one reading of the
SDK's models, not two.
"""

from __future__ import annotations

from typing import Any

from commandlang.testing.fake_genesys.oracle import load_oracle

__all__ = ["sdk_problems"]


def sdk_problems(type_name: str, data: Any) -> list[str]:
    """Every way `data` (JSON) disagrees with the SDK type `type_name` (`BotList`, `list[ReplyMessage]`, ...)."""
    oracle = load_oracle()
    assert oracle is not None, "PureCloudPlatformClientV2 is a test dependency: pip install -e '.[test]'"
    return [f"{path}: {problem}" for path, problem in oracle.models.check(type_name, data)]
