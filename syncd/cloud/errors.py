"""Cloud failures as typed exceptions, and the parser that turns an HTTP error into one.

Each class also subclasses the `syncd.errors` group that says how to react, so the sync
engine handles a cloud failure without knowing the API's error shapes:

    CloudError (SyncdError)        status, code, label, message, target
    ├── NotFound          PathError      404, code 60
    ├── AlreadyExists     PathError      409, or a label/message naming a conflict
    ├── QuotaExceeded     PathError      NO_SPACE_LEFT
    ├── FileTooLarge      PathError      TOO_BIG_FILE, 413
    ├── InvalidName       PathError      a 400 about a name (BadRequest too)
    ├── BadRequest                       other 400s: a bug on our side, not retried
    ├── Forbidden         PathError      403 (not 53), FORBIDDEN_ACCESS even on 401
    ├── NotAFolder / NotAFile PathError  a path resolved to the wrong kind of item
    ├── TermsNotAccepted  NeedsUserError CGU_NOT_ACCEPTED, USER_NOT_ELIGIBLE
    ├── CloudAuthError    AuthRequired   401 that a token refresh did not cure
    ├── RateLimited       TransientError 403 code 53, 429 (`retry_after` seconds or None)
    ├── ServerError       TransientError 5xx
    ├── CloudUnavailable  TransientError network failure; `maybe_sent` says whether the
    │                                    server may have acted on the request
    ├── TransferIncomplete TransientError a download that ended early (resumed)
    ├── ContentMismatch   PathError      a download whose body is not the listed file
    │                                    (longer, or announced with another length)
    ├── ForeignUrl        PathError      a download URL on a host we were not configured for
    └── MalformedResponse                an answer that is not what the API sends
        └── IncompleteListing TransientError a listing that cannot be read whole

The three body shapes are parsed in this order (most specific first): nested `{"error": {...}}`
(content host), then the gateway's `{"code", "message", "description"}` (code 800 carries
`PDK_…-LABEL` in `message`), then OAuth's `{"error", "error_description"}`. A body that is not
JSON still yields an error classified by its HTTP status.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from syncd.errors import AuthRequired, NeedsUserError, PathError, SyncdError, TransientError

_PDK_MESSAGE = re.compile(r"^(?P<code>[A-Z0-9]+_[A-Z0-9_]*?\d+)-(?P<label>[A-Z_]+)$")
_BARE_LABEL = re.compile(r"^[A-Z][A-Z_]+$")
_MAX_BODY_EXCERPT = 200


class CloudError(SyncdError):
    """A failed cloud call. `target` is the id, name or path concerned, when known."""

    default_message = "the cloud refused the request"

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        code: str | None = None,
        label: str | None = None,
        description: str | None = None,
        target: str | None = None,
    ) -> None:
        """`message` defaults to the class's `default_message`; the rest is what the
        answer said (HTTP `status`, the API's `code` and `label`, its `description`), None
        when unknown."""
        self.status = status
        self.code = code
        self.label = label
        self.message = message or self.default_message
        self.description = description
        self.target = target
        # Shared with PathError, so a per-path handler can read it from any cloud error.
        self.rel_path = target or ""
        Exception.__init__(self, f"{target}: {self.message}" if target else self.message)

    def with_target(self, target: str) -> CloudError:
        """The same error about a human-readable path (the resolver knows it, the client not)."""
        clone = type(self).__new__(type(self))
        clone.__dict__.update(self.__dict__)
        CloudError.__init__(
            clone,
            self.message,
            status=self.status,
            code=self.code,
            label=self.label,
            description=self.description,
            target=target,
        )
        return clone

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, "
            f"label={self.label!r}, message={self.message!r}, target={self.target!r})"
        )


class NotFound(CloudError, PathError):
    """No such item (404, 410, code 60): it is gone, or never was."""

    default_message = "not found"


class AlreadyExists(CloudError, PathError):
    """The name is taken where the item was to be created, moved or renamed."""

    default_message = "already exists"


class QuotaExceeded(CloudError, PathError):
    """The account has too little free space for the upload or copy."""

    default_message = "not enough free space in the cloud"


class FileTooLarge(CloudError, PathError):
    """The file is larger than the service accepts (TOO_BIG_FILE, 413)."""

    default_message = "file too large for the cloud"


class BadRequest(CloudError):
    """A request the service calls malformed: a bug on our side, never retried."""

    default_message = "the cloud rejected the request as malformed"


class InvalidName(BadRequest, PathError):
    """A name the cloud cannot hold, refused by us before sending or by the service."""

    default_message = "name not accepted by the cloud"


class Forbidden(CloudError, PathError):
    """Access refused (403, or FORBIDDEN_ACCESS): the item may not be read or changed."""

    default_message = "access forbidden"


class NotAFolder(CloudError, PathError):
    """A path that had to lead to a folder leads to a file (or through one)."""

    default_message = "not a folder"


class NotAFile(CloudError, PathError):
    """A path that had to lead to a file leads to a folder."""

    default_message = "is a folder, not a file"


class TermsNotAccepted(CloudError, NeedsUserError):
    """The account cannot use the cloud: its terms of use are not accepted, or it has no cloud."""

    default_message = (
        "the Orange Cloud terms of use are not accepted (or the account has no cloud): "
        "accept them on the Orange Cloud web site"
    )


class CloudAuthError(CloudError, AuthRequired):
    """The credentials were rejected even after a token refresh: log in again."""

    default_message = "the cloud rejected our credentials: run `syncd auth login`"


class RateLimited(CloudError, TransientError):
    """Too many requests (403 code 53, 429): retried after `retry_after` seconds, the
    server's `Retry-After`, or the backoff when it gave none (None)."""

    default_message = "too many requests"

    retry_after: float | None = None


class ServerError(CloudError, TransientError):
    """The service failed (5xx): retried. A state-changing call may have been applied."""

    default_message = "cloud service error"


class CloudUnavailable(CloudError, TransientError):
    """The cloud could not be reached, or the connection failed (reset, timeout): retried.

    `maybe_sent` is False only when the request certainly never left (a connect failure):
    then even a call that is not idempotent can be re-sent blindly.
    """

    default_message = "cannot reach the cloud"

    maybe_sent: bool = True


class TransferIncomplete(CloudError, TransientError):
    """A download that ended early: retried, resuming where it stopped (from the start when
    the server refuses to resume)."""

    default_message = "transfer ended early"


class ContentMismatch(CloudError, PathError):
    """A download whose body is not the file the listing describes: longer than its listed
    size, or announced with another length. Nothing past the listed size is written."""

    default_message = "the cloud sent something other than the listed file"


class ForeignUrl(CloudError, PathError):
    """A download URL on a host the client was not configured for: not followed."""

    default_message = "the cloud gave a download URL on another host; not followed"


class MalformedResponse(CloudError):
    """An answer that is not what the API sends (not JSON, a required field missing)."""

    default_message = "unexpected response from the cloud"


class IncompleteListing(MalformedResponse, TransientError):
    """A folder listing that cannot be read whole: nothing may be decided from it (least of
    all a delete); list again later."""

    default_message = "the cloud listing was incomplete"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        """`detail` says what could not be read; `kwargs` are `CloudError`'s."""
        text = f"the cloud listing was incomplete: {detail}" if detail else None
        super().__init__(text, **kwargs)


@dataclass(frozen=True, slots=True)
class ErrorBody:
    """What the three body shapes have in common."""

    code: str | None = None
    label: str | None = None
    message: str | None = None
    description: str | None = None
    oauth_error: str | None = None


def parse_error_body(body: bytes) -> ErrorBody:
    """Parse any of the three shapes; anything else gives an empty `ErrorBody`."""
    try:
        data = json.loads(body.decode("utf-8")) if body else None
    except (UnicodeDecodeError, ValueError):
        return ErrorBody()
    if not isinstance(data, Mapping):
        return ErrorBody()
    nested = data.get("error")
    if isinstance(nested, Mapping):
        code = _text(nested.get("code"))
        label = _text(nested.get("label"))
        message = _text(nested.get("message"))
        details = _text(nested.get("details")) or _text(nested.get("description"))
        if label is None and message is not None:
            code, label = _split_pdk(message, code)
            if label is None and _BARE_LABEL.match(message):
                label = message
        return ErrorBody(code=code, label=label, message=message or label, description=details)
    if "code" in data:
        code = _text(data.get("code"))
        message = _text(data.get("message"))
        label = None
        if message is not None:
            pdk_code, label = _split_pdk(message, None)
            if label is not None and code == "800":
                code = pdk_code
        return ErrorBody(
            code=code, label=label, message=message, description=_text(data.get("description"))
        )
    if isinstance(nested, str):
        return ErrorBody(
            oauth_error=nested,
            label=nested,
            message=_text(data.get("error_description")) or nested,
        )
    return ErrorBody()


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value)


def _split_pdk(message: str, code: str | None) -> tuple[str | None, str | None]:
    match = _PDK_MESSAGE.match(message.strip())
    if match is None:
        return code, None
    return match.group("code"), match.group("label")


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP-date); None when
    there is none or it cannot be read. `now` (epoch seconds) defaults to the clock."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def error_from_response(
    status: int,
    body: bytes,
    *,
    retry_after: str | None = None,
    target: str | None = None,
) -> CloudError:
    """The most specific `CloudError` for a non-2xx answer (returned, not raised).
    `retry_after` is the `Retry-After` header, if any; `target` is what the error names."""
    parsed = parse_error_body(body)
    label = (parsed.label or "").upper()
    message = parsed.message
    if message is None and body and parsed == ErrorBody():
        # Not one of the known shapes (an HTML proxy page...): keep an excerpt for the logs.
        message = f"HTTP {status}: {body[:_MAX_BODY_EXCERPT].decode('utf-8', 'replace')!s}"
    kwargs: dict[str, Any] = {
        "status": status,
        "code": parsed.code,
        "label": parsed.label,
        "description": parsed.description,
        "target": target,
    }
    detail = " ".join(filter(None, (message, parsed.description))).upper()
    cls = _classify(status, parsed.code, label, detail)
    text = None
    if cls not in (TermsNotAccepted, CloudAuthError):
        # For those two, our own sentence says what to do; the server's stays in attributes.
        text = _humanise(cls, parsed.description or message)
    error = cls(text, **kwargs)
    if isinstance(error, RateLimited):
        error.retry_after = parse_retry_after(retry_after)
    return error


def _humanise(cls: type[CloudError], message: str | None) -> str | None:
    if message is None:
        return None
    # The class's sentence is clearer than the server's bare "Resource not found".
    if cls in (NotFound, AlreadyExists, QuotaExceeded, FileTooLarge):
        return f"{cls.default_message} ({message})"
    return message


def _classify(status: int, code: str | None, label: str, message: str) -> type[CloudError]:
    # Labels first: the service reports quota and size failures with HTTP 500.
    if label == "NO_SPACE_LEFT":
        return QuotaExceeded
    if label == "TOO_BIG_FILE":
        return FileTooLarge
    if label in ("CGU_NOT_ACCEPTED", "USER_NOT_ELIGIBLE"):
        return TermsNotAccepted
    if "ALREADY_EXIST" in label or "ALREADY EXIST" in message or "ALREADY_EXIST" in message:
        return AlreadyExists
    if label == "FORBIDDEN_ACCESS":
        return Forbidden
    if status == 401:
        return CloudAuthError
    if status == 403 and code == "53":
        return RateLimited
    if status == 429:
        return RateLimited
    if status == 403:
        return Forbidden
    if status in (404, 410) or code == "60" or "NOT_FOUND" in label:
        return NotFound
    if status == 409:
        return AlreadyExists
    if status == 413 or code == "66":
        return FileTooLarge
    if status >= 500:
        return ServerError
    if status == 400 and ("NAME" in label or "NAME" in message):
        return InvalidName
    if 400 <= status < 500:
        return BadRequest
    return CloudError
