"""Genesys Cloud regions: which hosts to talk to for a `GENESYS_REGION` setting.

The table is the official SDKs' region -> domain map (python SDK
`purecloud_region_hosts.py`, plus `eusc_de_east_1` from the JS SDK); see
`shared/genesys/SOURCES.md` 1b. REST lives on `https://api.<domain>`, the token
endpoint on `https://login.<domain>/oauth/token`.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from ...errors import ChannelError

__all__ = ["REGION_DOMAINS", "RegionError", "GenesysEndpoints", "resolve_region", "apps_origin"]

#: SDK region name -> domain (the full table from SOURCES.md)
REGION_DOMAINS: dict[str, str] = {
    "us_east_1": "mypurecloud.com",
    "us_east_2": "use2.us-gov-pure.cloud",
    "us_west_2": "usw2.pure.cloud",
    "ca_central_1": "cac1.pure.cloud",
    "sa_east_1": "sae1.pure.cloud",
    "mx_central_1": "mxc1.pure.cloud",
    "eu_west_1": "mypurecloud.ie",
    "eu_west_2": "euw2.pure.cloud",
    "eu_central_1": "mypurecloud.de",
    "eu_central_2": "euc2.pure.cloud",
    "me_central_1": "mec1.pure.cloud",
    "ap_south_1": "aps1.pure.cloud",
    "ap_southeast_1": "apse1.pure.cloud",
    "ap_southeast_2": "mypurecloud.com.au",
    "ap_northeast_1": "mypurecloud.jp",
    "ap_northeast_2": "apne2.pure.cloud",
    "ap_northeast_3": "apne3.pure.cloud",
    "eusc_de_east_1": "edee1.eusc-pure.cloud",
}
_KNOWN_DOMAINS = frozenset(REGION_DOMAINS.values())


class RegionError(ChannelError, ValueError):
    """The region setting names no known Genesys Cloud region and no override was given."""


@dataclass(frozen=True, slots=True)
class GenesysEndpoints:
    """Where the REST API and the token endpoint live (no trailing slash), and the apps origin (the agent
    desktop that frames an interaction widget; "" when neither a region nor `GENESYS_APPS_ORIGIN` says)."""

    api_base: str
    login_base: str
    apps_origin: str = ""

    @property
    def token_url(self) -> str:
        """The client-credentials token endpoint."""
        return f"{self.login_base}/oauth/token"


def _strip_base(url: str, setting: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise RegionError(f"{setting} must be an http(s) URL such as https://api.mypurecloud.ie, got {url!r}")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def _domain_of(region: str) -> str:
    value = region.strip().lower()
    if "://" in value:
        value = urlsplit(value).netloc
    value = value.rstrip("/")
    for prefix in ("api.", "login."):
        if value.startswith(prefix) and value[len(prefix) :] in _KNOWN_DOMAINS:
            return value[len(prefix) :]
    if value in _KNOWN_DOMAINS:
        return value
    name = value.replace("-", "_")
    if name in REGION_DOMAINS:
        return REGION_DOMAINS[name]
    known = ", ".join(sorted(REGION_DOMAINS))
    raise RegionError(
        f"unknown Genesys Cloud region {region!r}: give a domain such as mypurecloud.ie or an SDK "
        f"region name ({known}), or set GENESYS_API_BASE and GENESYS_LOGIN_BASE"
    )


def apps_origin(domain: str) -> str:
    """The Genesys Cloud apps origin of a region's domain: `https://apps.<domain>`.

    Source (V-3rd, no Genesys page read): Genesys's own Messenger snippet loads
    `https://apps.mypurecloud.ie/genesys-bootstrap/genesys.min.js`, and region tables in public code
    map every Messenger environment to `apps.<domain>` (prod -> apps.mypurecloud.com, prod-euw1 ->
    apps.mypurecloud.ie, prod-usw2 -> apps.usw2.pure.cloud, ... all 17 regions of REGION_DOMAINS).
    The agent desktop and its interaction widgets' host are served there.
    """
    return f"https://apps.{domain}"


def resolve_region(
    region: str | None,
    *,
    api_base: str | None = None,
    login_base: str | None = None,
    apps: str | None = None,
) -> GenesysEndpoints:
    """Endpoints for `GENESYS_REGION` (a domain or an SDK region name such as `eu_west_1`).

    `api_base` / `login_base` (`GENESYS_API_BASE` / `GENESYS_LOGIN_BASE`) override
    the region's hosts. With only `api_base` set, the login host is derived the
    way the SDKs do (`api.` -> `login.`), or is the same origin when the host
    has no `api.` prefix (the fake Genesys Cloud serves both on one origin).
    """
    api = _strip_base(api_base, "GENESYS_API_BASE") if api_base else None
    login = _strip_base(login_base, "GENESYS_LOGIN_BASE") if login_base else None
    origin = _strip_base(apps, "GENESYS_APPS_ORIGIN") if apps else ""
    if region and region.strip() and not origin:
        origin = apps_origin(_domain_of(region))
    if api is None or login is None:
        if region and region.strip():
            domain = _domain_of(region)
            api = api or f"https://api.{domain}"
            login = login or f"https://login.{domain}"
        elif api is not None:
            parts = urlsplit(api)
            host = parts.netloc
            login = f"{parts.scheme}://login.{host[4:]}" if host.startswith("api.") else f"{parts.scheme}://{host}"
        else:
            raise RegionError("GENESYS_REGION is not set (e.g. mypurecloud.ie or eu_west_1)")
    return GenesysEndpoints(api_base=api, login_base=login, apps_origin=origin)
