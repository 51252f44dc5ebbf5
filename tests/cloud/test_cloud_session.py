"""The HTTP session's handling of replies, against the emulator over loopback."""

from __future__ import annotations

import gc
import weakref

from syncd.cloud.client import CloudClient


def test_a_reply_is_freed_as_soon_as_it_is_dropped(client: CloudClient) -> None:
    """httpx ties a response and its stream in a reference cycle (encode/httpx#3733), so
    each reply, body included, would wait for the cyclic garbage collector: a dozen 1.5 MB
    listing pages were alive at once at the peak of a sync of 100,000 files."""
    session = client._session
    url = client._api("folders")
    gc.collect()
    gc.disable()
    try:
        response = session.request("GET", url)
        assert response.json()["id"]  # the body stays readable
        alive = weakref.ref(response)
        del response
        assert alive() is None
        with session.stream("GET", url) as streamed:
            assert streamed.read()
            alive = weakref.ref(streamed)
        del streamed
        assert alive() is None
    finally:
        gc.enable()
