"""The three error body shapes of the service, as one exception type.

* gateway (api.orange.com): ``{"code": int, "message": str, "description": str}``
* back-end, nested (cloudapi.orange.com): ``{"error": {"code", "label", "details"}}``
* OAuth: ``{"error": str, "error_description": str}``
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    def __init__(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.headers = headers or {}


def gateway(status: int, code: int, message: str, description: str) -> ApiError:
    return ApiError(status, {"code": code, "message": message, "description": description})


def backend(status: int, pdk: str, label: str, description: str) -> ApiError:
    """A Cloud back-end error relayed by the gateway: code 800, message ``PDK_…-LABEL``."""
    return gateway(status, 800, f"{pdk}-{label}", description)


def nested(status: int, code: str, label: str, details: str) -> ApiError:
    return ApiError(status, {"error": {"code": code, "label": label, "details": details}})


def oauth(status: int, error: str, description: str) -> ApiError:
    return ApiError(status, {"error": error, "error_description": description})


# The gateway's error codes (the portal's table). Each builds a fresh error with a description.
def bad_query(description: str) -> ApiError:
    return gateway(400, 28, "Invalid query-string parameter value", description)


def missing_body(description: str = "A JSON body is required") -> ApiError:
    return gateway(400, 21, "Missing body", description)


def invalid_body(description: str) -> ApiError:
    return gateway(400, 22, "Invalid body", description)


def missing_field(field: str) -> ApiError:
    return gateway(400, 23, "Missing body field", f"Required: {field}")


def invalid_field(field: str, why: str) -> ApiError:
    return gateway(400, 24, "Invalid body field", f"The field '{field}' is invalid: {why}")


def not_found(description: str = "The requested resource does not exist") -> ApiError:
    return gateway(404, 60, "Resource not found", description)


def method_not_allowed() -> ApiError:
    return gateway(405, 61, "Method not allowed", "The method is not allowed on this resource")


def forbidden_access() -> ApiError:
    # Body copied from the real capture mkbrv_error_gateway_code800_forbidden_REAL.json.
    return backend(
        403, "PDK_CW_0003", "FORBIDDEN_ACCESS", "Forbidden access for the requested resource"
    )


def internal_error() -> ApiError:
    return gateway(500, 1, "Internal error", "An unexpected error occurred")
