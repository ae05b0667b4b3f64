"""Region settings -> API and login hosts."""

from __future__ import annotations

import json

import pytest

from commandlang.channels.genesys.regions import REGION_DOMAINS, RegionError, resolve_region
from tests.shared_data import OPENAPI_SUBSET

OPENAPI = OPENAPI_SUBSET


@pytest.mark.parametrize(
    "value",
    ["mypurecloud.ie", "eu_west_1", "eu-west-1", "EU_WEST_1", "api.mypurecloud.ie", "https://api.mypurecloud.ie/"],
)
def test_the_same_region_in_every_spelling(value: str) -> None:
    endpoints = resolve_region(value)
    assert endpoints.api_base == "https://api.mypurecloud.ie"
    assert endpoints.login_base == "https://login.mypurecloud.ie"
    assert endpoints.token_url == "https://login.mypurecloud.ie/oauth/token"


def test_the_table_has_all_eighteen_regions() -> None:
    assert len(REGION_DOMAINS) == 18
    assert resolve_region("eusc_de_east_1").api_base == "https://api.edee1.eusc-pure.cloud"
    assert resolve_region("usw2.pure.cloud").login_base == "https://login.usw2.pure.cloud"
    assert resolve_region("us_east_2").api_base == "https://api.use2.us-gov-pure.cloud"


@pytest.mark.skipif(not OPENAPI.exists(), reason="shared/genesys/openapi-subset.json not present")
def test_the_table_agrees_with_the_openapi_region_hosts() -> None:
    hosts = json.loads(OPENAPI.read_text())["x-host-by-region"]
    expected = {k.replace("-", "_"): v for k, v in hosts.items() if not k.startswith("_")}
    assert REGION_DOMAINS == expected


def test_unknown_region_names_the_choices() -> None:
    with pytest.raises(RegionError, match="unknown Genesys Cloud region 'mars_1'.*eu_west_1"):
        resolve_region("mars_1")
    with pytest.raises(RegionError, match="GENESYS_REGION is not set"):
        resolve_region(None)
    with pytest.raises(RegionError, match="GENESYS_API_BASE must be an http"):
        resolve_region(None, api_base="localhost:9")


def test_overrides_point_at_another_host() -> None:
    one_origin = resolve_region(None, api_base="http://127.0.0.1:9000/")
    assert one_origin.api_base == one_origin.login_base == "http://127.0.0.1:9000"
    assert resolve_region(None, api_base="https://api.example.test").login_base == "https://login.example.test"
    both = resolve_region("eu_west_1", login_base="http://127.0.0.1:1")
    assert both.api_base == "https://api.mypurecloud.ie" and both.login_base == "http://127.0.0.1:1"
