"""gunicorn's settings for LeadHub's web process (the Procfile's ``web``), sized from the
environment. Each worker process holds at most one database connection per thread, so
WEB_CONCURRENCY x WEB_THREADS bounds the web's connections (CONN_MAX_AGE keeps them)."""

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        return int(raw) if raw else default
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {raw!r}") from None


# HOST and PORT as honcho and most platforms pass them; 127.0.0.1 unless told otherwise.
bind = f"{os.environ.get('HOST', '127.0.0.1')}:{_int('PORT', 8000)}"
# Sync workers: one request at a time each; a lead capture is tens of milliseconds.
workers = _int("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 8))
threads = _int("WEB_THREADS", 1)
timeout = _int("WEB_TIMEOUT", 30)
graceful_timeout = _int("WEB_GRACEFUL_TIMEOUT", 5)
# Recycle workers now and then (with jitter, not all at once) against slow leaks.
max_requests = _int("WEB_MAX_REQUESTS", 5000)
max_requests_jitter = max_requests // 10
accesslog = "-" if os.environ.get("WEB_ACCESS_LOG", "") in {"1", "true", "yes", "on"} else None
errorlog = "-"
# gunicorn's control socket (gunicornc) sits at one path per user: two LeadHubs on one
# machine (a laptop's make run and a test's) would remove each other's. Not used here.
control_socket_disable = True
# Behind a proxy (see README, "Running on several machines"): trust its X-Forwarded-*.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
