"""Production settings, as deploy/chat.env.example has them: Django's deployment
checks find nothing, and a setting production cannot do without stops the
start with a clear message."""

import os
import secrets
import subprocess
import sys

from .servers import ROOT

PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "chat.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://chat.example.com",
    # Not connected to: the checks only read the settings.
    "DATABASE_URL": "postgres://chat@db.invalid:5432/chat",
    "REDIS_URL": "redis://redis.invalid:6379/0",
    "EMAIL_URL": "smtp+tls://chat:secret@smtp.example.com:587",
    "CHAT_SITE_URL": "https://chat.example.com",
}


def manage(*args: str, **env_changes: str | None) -> subprocess.CompletedProcess:
    env = {**os.environ, **PRODUCTION, **env_changes}
    env = {key: value for key, value in env.items() if value is not None}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_is_clean_under_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_without_a_secret_key_does_not_start():
    result = manage("check", SECRET_KEY=None)
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr
