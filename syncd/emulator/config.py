"""Settings of one emulator instance, fixed for its lifetime (faults are separate and mutable)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

from syncd.emulator.oauth import Client
from syncd.emulator.views import PageSplit

DEFAULT_CLIENT_ID = "syncd-emulator"
DEFAULT_CLIENT_SECRET = "syncd-emulator-secret"
DEFAULT_REDIRECT_URIS = ("http://127.0.0.1:8976/callback",)
DEFAULT_QUOTA = 100 * 1000**3  # the "100 Go" the service was marketed with
PARTNER_FOLDER = "mes dossiers partenaires"


@dataclass(frozen=True)
class EmulatorConfig:
    client: Client
    zone: tzinfo
    token_ttl: int = 3600
    app_name: str = "syncd"
    quota_bytes: int = DEFAULT_QUOTA
    max_file_size: int | None = None
    rotate_refresh_tokens: bool = False
    reject_refresh_scope: bool = False
    conflict_status: int = 400  # HTTP status of PDK_CW_0001-ALREADY_EXISTS
    expired_code: int = 41  # gateway code for an expired token: 41 or 42
    page_split: PageSplit = "combined"  # how limit/offset window subfolders and files

    @property
    def app_root_names(self) -> tuple[str, str]:
        return (PARTNER_FOLDER, self.app_name)
