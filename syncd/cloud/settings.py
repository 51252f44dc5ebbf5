"""Where the cloud is and who we are to it: the client's whole configuration."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

LIVE_API_URL = "https://api.orange.com/cloud/v1"
LIVE_CONTENT_URL = "https://cloudapi.orange.com/cloud/v1"
LIVE_AUTHORIZE_URL = "https://api.orange.com/oauth/v2/authorize"
LIVE_TOKEN_URL = "https://api.orange.com/oauth/v2/token"
DEFAULT_SCOPE = "openid cloud offline_access"


@dataclass(frozen=True, slots=True)
class CloudSettings:
    """What a `CloudClient` needs: the app's OAuth client (`client_id`, `client_secret`, the
    `redirect_uri` registered for it), where the token is kept (`token_file`), and the
    timeouts and retries of its calls. The base URLs are configurable so the same code talks
    to the live service or the emulator.
    """

    client_id: str
    client_secret: str
    redirect_uri: str
    token_file: Path
    api_url: str = LIVE_API_URL
    content_url: str = LIVE_CONTENT_URL
    authorize_url: str = LIVE_AUTHORIZE_URL
    token_url: str = LIVE_TOKEN_URL
    scope: str = DEFAULT_SCOPE
    verify_tls: bool = True
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 120.0
    # Retries of transient failures (5xx, 403/53, resets, timeouts) per call.
    max_attempts: int = 6
    max_backoff_s: float = 60.0
    # Refresh this long before the access token expires.
    refresh_leeway_s: float = 120.0
