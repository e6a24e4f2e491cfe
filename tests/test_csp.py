"""Every page carries a Content-Security-Policy that allows no inline script or style.

The browser suite (tests/e2e) checks that the pages still work under it: Chromium
reports a blocked script or style as a page error there.
"""

import re

import pytest

pytestmark = pytest.mark.django_db


def policy_of(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    directives = [part.split() for part in header.split(";") if part.strip()]
    return {name: sources for name, *sources in directives}


def assert_strict(policy: dict[str, list[str]]) -> None:
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    assert "'self'" in policy["connect-src"]
    for sources in policy.values():
        assert "'unsafe-inline'" not in sources
        assert "'unsafe-eval'" not in sources


def test_login_page(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert_strict(policy_of(response))


def test_app_page(client, make_user):
    client.force_login(make_user("ana"))
    response = client.get("/")
    assert response.status_code == 200
    assert_strict(policy_of(response))


def test_directory(client, make_user):
    client.force_login(make_user("ana"))
    response = client.get("/rooms/")
    assert response.status_code == 200
    assert_strict(policy_of(response))


def test_admin(admin_client):
    response = admin_client.get("/admin/")
    assert response.status_code == 200
    assert_strict(policy_of(response))


@pytest.mark.parametrize("url", ["/accounts/login/", "/accounts/signup/", "/admin/"])
def test_anonymous_pages_have_no_inline_style_or_handlers(client, url):
    """What the policy would block: style attributes and on* handler attributes."""
    page = client.get(url, follow=True).content.decode()
    assert not re.search(r"\sstyle=", page), url
    assert not re.search(r"\son[a-z]+=", page), url
