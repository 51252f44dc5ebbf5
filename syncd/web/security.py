"""How the dashboard judges a request before doing anything with it. Pure functions.

In this order: the `Host` header (a page on another site that has its name re-pointed at
127.0.0.1, DNS rebinding, reaches us with its own name there), then the access token (a
`?token=` the first time, a cookie after; `Authorization: Bearer` for scripts), then, for
requests that change something, the CSRF token the page carries in a header (another
site's page can make the browser send the cookie, but cannot read the page to learn it).
No response ever carries CORS headers, so no other origin may read one.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie

CSRF_HEADER = "X-Syncd-Csrf"

# A request's header by name (case-insensitive), None when absent: `message.get`.
Header = Callable[[str], str | None]


def cookie_name(port: int) -> str:
    # Cookies ignore ports: a daemon per user on one machine each keeps its own.
    return f"syncd_token_{port}"


def host_allowed(host: str | None, port: int) -> bool:
    """`localhost` or an IP address, at our port. A name that resolves to us could have
    been re-pointed there by someone else's page; an address cannot."""
    if not host:
        return False
    name, _, port_text = host.rpartition(":")
    if not name or not port_text.isdigit() or int(port_text) != port:
        return False
    if name == "localhost":
        return True
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
        try:
            return ipaddress.ip_address(name).version == 6
        except ValueError:
            return False
    try:
        return ipaddress.ip_address(name).version == 4
    except ValueError:
        return False


def same_token(presented: str | None, expected: str | None) -> bool:
    if not presented or not expected:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())


def presented_token(header: Header, query_token: str | None, port: int) -> tuple[str | None, str]:
    """The token the request carries and where: "query", "header", "cookie" or ""."""
    if query_token:
        return query_token, "query"
    authorization = header("Authorization") or ""
    if authorization.startswith("Bearer "):
        return authorization[len("Bearer ") :].strip(), "header"
    raw = header("Cookie")
    if raw:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(raw)
        except CookieError:
            return None, ""
        morsel = jar.get(cookie_name(port))
        if morsel is not None:
            return morsel.value, "cookie"
    return None, ""


def cookie_header(token: str, port: int) -> str:
    """Sent once the `?token=` was right: the page's later requests carry it by themselves.
    HttpOnly (no script reads it), SameSite=Strict (no other site's request carries it)."""
    return (
        f"{cookie_name(port)}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={400 * 24 * 3600}"
    )


def change_refused(header: Header, expected_csrf: str) -> str | None:
    """Why a state-changing request is refused (None: it may go ahead)."""
    if not same_token(header(CSRF_HEADER), expected_csrf):
        return f"missing or wrong {CSRF_HEADER} header"
    site = header("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        return f"sent from another site ({site})"
    origin = header("Origin")
    if origin is not None and origin != f"http://{header('Host') or ''}":
        return f"sent from another origin ({origin})"
    if (header("Content-Type") or "").split(";")[0].strip() != "application/json":
        return "the body must be application/json"
    return None
