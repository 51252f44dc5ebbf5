"""The Orange Cloud France API client. Knows nothing of sync.

Nothing is imported here, so `syncd.cloud.settings` stays cheap for the config loader; import
from the modules:

    client.CloudClient      one typed method per API call, `list_flat`, upload, download
    paths.PathResolver      `/docs/a.txt` -> items, `ensure_folder` (mkdir -p)
    errors                  the typed error tree and the parser of the three error bodies
    tokens                  TokenSet, TokenFileStore (0600 file), TokenManager (refresh lock)
    login                   authorize URL, loopback redirect receiver, paste mode
    auth                    BearerAuth, the streaming httpx.Auth
    retry                   RetryPolicy (stamina backoff, Retry-After)
    transfer                upload sources, the multipart body, download resume
    session                 the shared httpx.Client and error mapping
    wire                    JSON -> models.py dataclasses
    ids                     the (undocumented) id encoding, as a fallback helper
"""
