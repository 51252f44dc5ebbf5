"""The error parser: three body shapes, most specific first, tolerant of anything else."""

from __future__ import annotations

import json

import pytest

from syncd.cloud import errors as e
from syncd.cloud.retry import RetryPolicy
from syncd.errors import AuthRequired, NeedsUserError, PathError, TransientError


def body(obj: object) -> bytes:
    return json.dumps(obj).encode()


def test_gateway_shape() -> None:
    err = e.error_from_response(
        404, body({"code": 60, "message": "Resource not found", "description": "No folder X"})
    )
    assert isinstance(err, e.NotFound) and isinstance(err, PathError)
    assert (err.status, err.code, err.label) == (404, "60", None)
    assert "No folder X" in str(err)


def test_gateway_code_800_carries_a_pdk_label() -> None:
    # The real capture mkbrv_error_gateway_code800_forbidden_REAL.json.
    err = e.error_from_response(
        401,
        body(
            {
                "code": 800,
                "message": "PDK_CW_0003-FORBIDDEN_ACCESS",
                "description": "Forbidden access for the requested resource",
            }
        ),
    )
    assert isinstance(err, e.Forbidden)
    assert (err.code, err.label) == ("PDK_CW_0003", "FORBIDDEN_ACCESS")


def test_code_800_already_exists_whatever_the_status() -> None:
    for status in (400, 409):
        err = e.error_from_response(
            status,
            body({"code": 800, "message": "PDK_CW_0001-ALREADY_EXISTS", "description": "dup"}),
            target="/docs",
        )
        assert isinstance(err, e.AlreadyExists)
        assert err.rel_path == "/docs" and str(err).startswith("/docs: already exists")


def test_nested_shape_and_its_message_variant() -> None:
    err = e.error_from_response(
        401,
        body({"error": {"code": "PDK_RP_0004", "label": "INVALID_TOKEN", "details": "OIDC"}}),
    )
    assert isinstance(err, e.CloudAuthError) and isinstance(err, AuthRequired)
    assert err.exit_code == 78 and err.label == "INVALID_TOKEN"
    variant = e.error_from_response(
        500,
        body({"error": {"code": "PDK_UP_0002", "message": "NO_SPACE_LEFT", "description": "x"}}),
    )
    assert isinstance(variant, e.QuotaExceeded)


@pytest.mark.parametrize(
    ("status", "label", "cls"),
    [
        (500, "NO_SPACE_LEFT", e.QuotaExceeded),
        (500, "TOO_BIG_FILE", e.FileTooLarge),
        (403, "CGU_NOT_ACCEPTED", e.TermsNotAccepted),
        (403, "USER_NOT_ELIGIBLE", e.TermsNotAccepted),
        (404, "FILE_NOT_FOUND", e.NotFound),
        (400, "INVALID_PARAMETER", e.BadRequest),
        (503, "WHATEVER", e.ServerError),
    ],
)
def test_labels_decide_before_statuses(status: int, label: str, cls: type[e.CloudError]) -> None:
    err = e.error_from_response(
        status, body({"error": {"code": "PDK_X_0001", "label": label, "details": "d"}})
    )
    assert type(err) is cls


def test_oauth_shape() -> None:
    err = e.error_from_response(
        400, body({"error": "invalid_grant", "error_description": "refresh token revoked"})
    )
    assert err.label == "invalid_grant" and "revoked" in err.message


def test_rate_limit_and_retry_after() -> None:
    err = e.error_from_response(
        403, body({"code": 53, "message": "Too many requests"}), retry_after="7"
    )
    assert isinstance(err, e.RateLimited) and isinstance(err, TransientError)
    assert err.retry_after == 7.0
    policy = RetryPolicy(max_backoff_s=5.0)
    assert policy.backoff_for(err) == 5.0  # capped
    err.retry_after = None
    assert policy.backoff_for(err) is True  # the default jittered backoff


@pytest.mark.parametrize(
    ("failures", "max_attempts", "calls"),
    [(0, 4, 1), (1, 4, 2), (3, 4, 4), (9, 4, 4), (9, 1, 1)],
)
def test_each_attempt_runs_the_operation_once(failures: int, max_attempts: int, calls: int) -> None:
    """The first attempt runs outside stamina's loop, which gets its failure handed in: the
    count of runs must not change for it (the tests' stamina mode keeps counts, not sleeps)."""
    ran: list[int] = []

    def flaky() -> str:
        ran.append(1)
        if len(ran) <= failures:
            raise e.CloudUnavailable(f"reset {len(ran)}")
        return "done"

    policy = RetryPolicy(max_attempts=max_attempts)
    if failures >= calls:
        with pytest.raises(e.CloudUnavailable, match=f"reset {calls}"):
            policy.call(flaky)
    else:
        assert policy.call(flaky) == "done"
    assert len(ran) == calls


def test_an_error_that_is_not_transient_is_raised_at_once() -> None:
    ran: list[int] = []

    def missing() -> None:
        ran.append(1)
        raise e.NotFound("gone")

    with pytest.raises(e.NotFound):
        RetryPolicy(max_attempts=5).call(missing)
    assert ran == [1]


def test_retry_after_http_date() -> None:
    assert e.parse_retry_after("Thu, 01 Jan 1970 00:01:40 GMT", now=90.0) == 10.0
    assert e.parse_retry_after("Thu, 01 Jan 1970 00:01:40 GMT", now=200.0) == 0.0
    assert e.parse_retry_after("soon") is None
    assert e.parse_retry_after(None) is None


def test_non_json_and_odd_bodies() -> None:
    html = e.error_from_response(502, b"<html>Bad gateway</html>")
    assert isinstance(html, e.ServerError) and "Bad gateway" in str(html)
    assert isinstance(e.error_from_response(404, b""), e.NotFound)
    assert isinstance(e.error_from_response(400, b"[1, 2]"), e.BadRequest)
    assert isinstance(e.error_from_response(401, b"\xff\xfe"), e.CloudAuthError)
    assert isinstance(e.error_from_response(429, b"{}"), e.RateLimited)


def test_name_problems_are_invalid_name() -> None:
    err = e.error_from_response(
        400,
        body(
            {
                "code": 24,
                "message": "Invalid body field",
                "description": "The field 'name' is invalid: it contains '/'",
            }
        ),
    )
    assert isinstance(err, e.InvalidName) and isinstance(err, PathError)


def test_reaction_groups() -> None:
    assert issubclass(e.TermsNotAccepted, NeedsUserError)
    assert issubclass(e.CloudUnavailable, TransientError)
    assert issubclass(e.ServerError, TransientError)
    assert not issubclass(e.BadRequest, TransientError)
    policy = RetryPolicy()
    assert policy.backoff_for(e.BadRequest()) is False
    assert policy.backoff_for(e.NotFound()) is False
    assert policy.backoff_for(e.ServerError()) is True
    assert policy.backoff_for(ValueError()) is False


def test_with_target_keeps_the_type_and_fields() -> None:
    err = e.error_from_response(404, body({"code": 60, "message": "Resource not found"}))
    moved = err.with_target("/a/b.txt")
    assert type(moved) is e.NotFound and moved.status == 404
    assert moved.rel_path == "/a/b.txt" and str(moved).startswith("/a/b.txt: not found")
