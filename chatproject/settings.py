"""Settings, read from the environment (django-environ).

With nothing set it runs for development: DEBUG on, SQLite, an in-memory channel
layer, one process. Production sets DEBUG=false, SECRET_KEY, ALLOWED_HOSTS,
DATABASE_URL and REDIS_URL; see README.md for the table.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)

_DEV_SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Pages that may open the chat's WebSocket besides the site itself (whose
# handshake's own origin is always allowed) and CSRF_TRUSTED_ORIGINS: full origins,
# scheme://host[:port] (chatproject.middleware.SameOriginValidator).
CHAT_ALLOWED_ORIGINS = env.list("CHAT_ALLOWED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "chat",
]

MIDDLEWARE = [
    "chatproject.middleware.CloseDatabaseConnectionsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "chatproject.middleware.StaticFilesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "chat.infra.logcontext.RequestContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out log-in into its answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "chatproject.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

ASGI_APPLICATION = "chatproject.asgi.application"

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several daphne threads write at once (and the background jobs' thread):
    # wait for the lock instead of failing. IMMEDIATE: a transaction takes the
    # write lock when it begins, so two never both read and then find they
    # cannot write ("database is locked" at once, without waiting).
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
else:
    # Persistent connections: each sync_to_async call would otherwise reconnect.
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", 60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channel layer --------------------------------------------------------------------
# REDIS_URL selects channels_redis' pub/sub layer: see README "Why the pub/sub layer"
# for the measurement behind that choice. Without it, one process, in memory.
REDIS_URL = env.str("REDIS_URL", default="")
CHAT_REDIS_PREFIX = env.str("CHAT_REDIS_PREFIX", default="chat")


def redis_host(url: str) -> dict:
    """Connection kwargs for redis-py with explicit timeouts.

    Without socket_timeout a hung Redis blocks group_send forever (channels_redis
    #361, #323); the connect timeout keeps a dead host from stalling a handshake.
    """
    return {"address": url, "socket_timeout": 10, "socket_connect_timeout": 2}


if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "chat.infra.fast.layers.WatchedPubSubChannelLayer",
            "CONFIG": {
                "hosts": [redis_host(REDIS_URL)],
                "prefix": f"{CHAT_REDIS_PREFIX}:layer",
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Background jobs and notifications ---------------------------------------------
# Jobs (chat.jobs: pushes, emails) go through the Django Tasks API, stored in the
# database (django-tasks-db) and run by `manage.py db_worker` processes, on any
# machine, as many as wanted (docs/DEPLOY.md, "Background jobs"). With
# CHAT_JOBS_IN_PROCESS (the default without REDIS_URL: the embedded default), the
# chat's own server process runs them too, in a thread: no other process to start.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
CHAT_JOBS_IN_PROCESS = env.bool("CHAT_JOBS_IN_PROCESS", default=not REDIS_URL)
# A job that fails is tried again after 10 s, 40 s, 160 s, ... this many times.
CHAT_JOB_ATTEMPTS = env.int("CHAT_JOB_ATTEMPTS", default=5)
# A job still "running" this many seconds after it started had its worker killed
# under it (SIGKILL, OOM, power): `manage.py jobs_recover` (a timer in production,
# a thread in the embedded default) makes it due again. Every job of the chat
# ends far sooner: pushes and emails have timeouts of their own.
CHAT_JOB_STALE_AFTER = env.int("CHAT_JOB_STALE_AFTER", default=600)

# A DM or mention still unread this many minutes later is emailed (batched per user).
CHAT_EMAIL_DELAY = env.int("CHAT_EMAIL_DELAY", default=10)
# How long a worker trusts its list of rooms where a member wants every message
# notified (read again after this many seconds).
CHAT_LOUD_ROOMS_TTL = env.float("CHAT_LOUD_ROOMS_TTL", default=10.0)
# @room in a room with more members than this: its owners and moderators only.
CHAT_ROOM_MENTION_MAX_MEMBERS = env.int("CHAT_ROOM_MENTION_MAX_MEMBERS", default=50)
# The site's address in emails (links back to the chat); the request's otherwise.
CHAT_SITE_URL = env.str("CHAT_SITE_URL", default="http://127.0.0.1:8000")
# Email: the console in development; EMAIL_URL (smtp://user:pass@host:587,
# submission+tls, ...) in production.
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="chat@localhost")
if "EMAIL_URL" in env:
    vars().update(env.email_url("EMAIL_URL"))
    # A mail server that hangs must not hold a job past CHAT_JOB_STALE_AFTER.
    EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
else:
    EMAIL_BACKEND = env.str(
        "EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
    )
    # The file backend's directory (the browser tests read their emails there).
    EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(BASE_DIR / "mail"))

# Web Push: the VAPID key pair (base64url, the private key as raw 32 bytes or
# PEM), and a contact the push services may write to. Without them, push is off.
VAPID_PRIVATE_KEY = env.str("VAPID_PRIVATE_KEY", default="")
VAPID_PUBLIC_KEY = env.str("VAPID_PUBLIC_KEY", default="")
VAPID_SUBJECT = env.str("VAPID_SUBJECT", default="mailto:admin@localhost")
# Push subscriptions whose endpoint is on loopback (over http too) are refused
# unless this is on: the push job POSTs to every stored endpoint, and only a
# development machine or the tests run a push service there.
CHAT_PUSH_ALLOW_LOOPBACK = env.bool("CHAT_PUSH_ALLOW_LOOPBACK", default=DEBUG)

# --- Auth -----------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "chat:index"
LOGOUT_REDIRECT_URL = "login"
# django-axes refuses a log-in, before the password is even hashed, once a name
# has failed LOGIN_FAILURE_LIMIT times in a row from one address, until
# LOGIN_LOCKOUT_MINUTES pass with no further failure. Failures are rows in the
# database, so every worker counts the same ones. Staff unlock a name with
# `manage.py axes_reset_username NAME`, or by deleting its access attempts in admin.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
# Per name and address: a guesser cannot lock a member out from elsewhere.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The address daphne saw, or the one nginx gave it (--proxy-headers); never a
# header a client can set itself.
AXES_CLIENT_IP_CALLABLE = "chat.web.views.client_address"
AXES_LOCKOUT_CALLABLE = "chat.web.views.login_locked_out"
# Only failures are needed; a row for every log-in would grow without end.
AXES_DISABLE_ACCESS_LOG = True

# --- I18N, static ---------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "chatproject.storage.StaticFilesStorage"
        )
    },
}
# In development whitenoise serves straight from the finders (no collectstatic).
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# --- Production hardening (only when DEBUG is off) ------------------------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Probes and scrapers talk plain HTTP to a worker's own port.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
    # Only a benchmark on plain-HTTP localhost turns these off (bench/serve.sh).
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- Content-Security-Policy (django-csp) ---------------------------------------------
# Our own files only, and no inline script or style anywhere (templates and admin
# have none; JavaScript may still set element.style). A JSON data block from
# json_script is not script and needs no exception. connect-src 'self' covers the
# page's own ws:/wss: origin in CSP Level 3 browsers.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        # The Web Push service worker, /sw.js (chat.web.push).
        "worker-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "object-src": ["'none'"],
    }
}

# --- Chat -----------------------------------------------------------------------------
CHAT_MAX_MESSAGE_LENGTH = env.int("CHAT_MAX_MESSAGE_LENGTH", default=4000)
CHAT_HISTORY_PAGE = 50  # join_room history, and get_history's default limit
CHAT_HISTORY_MAX_PAGE = 100  # get_history's largest limit
# A text frame larger than this closes the socket with 1009.
CHAT_MAX_FRAME_BYTES = env.int("CHAT_MAX_FRAME_BYTES", default=64 * 1024)
# More sockets than this for one user (across workers) closes the newest with 4429.
# Bytes waiting in a worker for one client that does not read (frames the kernel
# would not take): past this its socket is closed with 1013, and the client
# reconnects and resyncs. Bounds what a stalled or hostile client costs in memory.
CHAT_MAX_SOCKET_BUFFER = env.int("CHAT_MAX_SOCKET_BUFFER", default=1024 * 1024)
CHAT_MAX_SOCKETS_PER_USER = env.int("CHAT_MAX_SOCKETS_PER_USER", default=20)
CHAT_MAX_ROOMS_PER_SOCKET = env.int("CHAT_MAX_ROOMS_PER_SOCKET", default=200)
# Public rooms every new account joins (created on first use), so that nobody
# starts with an empty sidebar.
CHAT_DEFAULT_ROOMS = env.list("CHAT_DEFAULT_ROOMS", default=["general"])
# Seconds between the worker's clocked garbage collections (chat.infra.collector):
# closed connections are garbage in reference cycles.
CHAT_GC_EVERY = env.float("CHAT_GC_EVERY", default=60.0)
# Seconds after sending in which an author may edit a message (0: no limit); room
# moderators and staff may edit at any time.
CHAT_EDIT_WINDOW = env.int("CHAT_EDIT_WINDOW", default=0)
CHAT_RESYNC_MAX = 200  # join_room {after} returns at most this many changes
# Threads running the sockets' database work in each worker, each with its own
# connection. Channels' default is one thread per worker, which capped a worker at
# about 100 messages/s on PostgreSQL (docs/BENCHMARKS.md). SQLite takes one writer
# at a time, so one thread there.
CHAT_DB_THREADS = env.int(
    "CHAT_DB_THREADS",
    default=1 if DATABASES["default"]["ENGINE"].endswith("sqlite3") else 8,
)
# Of those, how many one user's socket frames may occupy at once (all their sockets
# on the worker together), so that one member cannot take every thread.
CHAT_DB_THREADS_PER_USER = env.int("CHAT_DB_THREADS_PER_USER", default=2)
# A socket refreshes its presence every HEARTBEAT seconds; a socket whose worker
# died stops counting after TTL, and every worker sweeps expired users out (and
# tells the clients) every HEARTBEAT / 2: gone from online lists within 60 s.
# Every this many seconds each worker checks, in one query, that the users of its
# sockets may still chat: an account deactivated or banned by a path that sends no
# signal (a QuerySet.update, a script) loses its sockets within this time.
CHAT_ACCOUNT_CHECK = env.float("CHAT_ACCOUNT_CHECK", default=10.0)
CHAT_PRESENCE_HEARTBEAT = env.float("CHAT_PRESENCE_HEARTBEAT", default=15.0)
CHAT_PRESENCE_TTL = env.float("CHAT_PRESENCE_TTL", default=45.0)
# presence_update and room_users carry full lists; a worker sends each at most once
# per this many seconds (the first change at once, later ones together).
CHAT_PRESENCE_COALESCE = env.float("CHAT_PRESENCE_COALESCE", default=1.0)
# This worker's name in logs and /metrics (default host:pid).
CHAT_WORKER_NAME = env.str("CHAT_WORKER_NAME", default="")
# /metrics answers only requests with "Authorization: Bearer <token>" when set,
# and only requests from loopback when not (deploy/nginx keeps it internal too).
CHAT_METRICS_TOKEN = env.str("CHAT_METRICS_TOKEN", default="")
# The workers sit behind a proxy and believe its X-Forwarded-* headers (daphne
# --proxy-headers, as deploy/systemd runs it; uvicorn's launcher always does, from
# 127.0.0.1). Then the client address the app sees is whatever the header said,
# so /metrics needs CHAT_METRICS_TOKEN, and X-Forwarded-Proto gives the scheme of
# the WebSocket origin check. On by default when DEBUG is off, as production is
# deployed (SECURE_PROXY_SSL_HEADER trusts the proxy then too); on is the safe
# side for both.
CHAT_TRUST_PROXY_HEADERS = env.bool("CHAT_TRUST_PROXY_HEADERS", default=not DEBUG)
# New public and private rooms a member may create in any hour (room_create, and
# join_room of a missing room); staff are not counted. Read from the rooms' own
# creation times, so every worker agrees.
CHAT_ROOMS_PER_HOUR = env.int("CHAT_ROOMS_PER_HOUR", default=20)
# Accounts one client address may sign up in any hour (an IPv6 client: its /64).
CHAT_SIGNUPS_PER_HOUR = env.int("CHAT_SIGNUPS_PER_HOUR", default=10)
# Token buckets per user and kind of event: (events per second, burst). With REDIS_URL
# they are shared by every worker (chat/ratelimit.py).
CHAT_RATE_LIMITS = {
    # Every client frame draws on this budget: 1 token, reads 1 more per ten rows
    # they may return (get_history {limit: 100}: 11), list_rooms 11. The web client
    # spends about 6 a room when it connects, which the burst covers.
    "request": (
        env.float("CHAT_RATE_REQUESTS_PER_SECOND", default=50.0),
        env.int("CHAT_RATE_REQUESTS_BURST", default=600),
    ),
    # Kicks and mutes by one member, together.
    "moderation": (10 / 60, 10),
    "message": (
        env.float("CHAT_RATE_MESSAGES_PER_SECOND", default=5.0),
        env.int("CHAT_RATE_MESSAGES_BURST", default=10),
    ),
    "typing": (5.0, 10),
    # The web client joins every room of the user on connect.
    "join": (10.0, 60),
    # Per client address, not per user.
    "signup": (CHAT_SIGNUPS_PER_HOUR / 3600, CHAT_SIGNUPS_PER_HOUR),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "chat.infra.logcontext.ContextFilter"}},
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s"
            " user=%(user)s conn=%(conn)s %(message)s"
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # axes says at INFO that it cleared nothing on every log-in; lockouts are
    # warnings, and those stay.
    "loggers": {"axes": {"level": "WARNING"}},
}
