"""The emoji picker's data as JSON: public, the same for everyone, and changed only
by a deploy (a new `emoji` package or picker code).

Cached by the browser under a fixed URL with an ETag, rather than under a URL
carrying a version: the page then needs nothing but the URL, and a new version is
picked up within a day without the templates computing a version. Once the day
is over a browser asks again with If-None-Match and gets a bodyless 304. A day
stale costs nothing: the server checks every reaction against its own data.
"""

import functools
import hashlib

import orjson
from django.http import HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response, patch_cache_control
from django.views.decorators.http import require_safe

from chat.domain.emoji import picker_index

MAX_AGE = 24 * 60 * 60


@functools.cache
def encoded_index() -> tuple[bytes, str]:
    """The index's JSON (72 kB, 22 kB gzipped), and its ETag: a hash of it."""
    body = orjson.dumps(picker_index())
    return body, f'"{hashlib.sha256(body).hexdigest()[:32]}"'


# Async: once the bytes are cached (the first request) it has nothing to wait for,
# so it need not hold a thread.
@require_safe
async def emoji_index(request: HttpRequest) -> HttpResponse:
    body, etag = encoded_index()
    response = HttpResponse(body, content_type="application/json")
    response.headers["ETag"] = etag
    patch_cache_control(response, public=True, max_age=MAX_AGE)
    # A matching If-None-Match gets a bodyless 304 with the headers above, which
    # renews the browser's copy for another MAX_AGE.
    return get_conditional_response(request, etag=etag, response=response)
