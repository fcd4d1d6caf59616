"""gunicorn settings for the Catalog API container.

Values can be overridden by environment variables so ECS task sizes and the
benchmark can tune them without a new image.
"""

import os

from serve import log_config

bind = os.environ.get("BIND", "0.0.0.0:8000")
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# Keep the request timeout above the DB statement timeout (5 s) plus retries.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# ECS sends SIGTERM and kills after its 30 s stop timeout: finish in-flight
# requests well before that.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
# Longer than the ALB idle timeout (60 s), so the ALB closes idle connections
# first and never sends a request on a socket gunicorn is closing.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))
# The root filesystem is read-only; heartbeat files go to the /tmp volume.
worker_tmp_dir = "/tmp"
# No runtime control socket: nothing manages gunicorn inside the task, and the
# default path ($HOME/.gunicorn) is on the read-only root filesystem.
control_socket_disable = True
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
# The app logs each request as JSON; gunicorn's own access log stays off.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
forwarded_allow_ips = "*"  # ProxyFix in the app decides how many hops to trust
proxy_allow_ips = "*"
# Its own lines as JSON on stdout (serve.py's dictConfig with gunicorn's loggers).
logconfig_dict = log_config(
    loglevel.upper(), server="gunicorn.error", server_access="gunicorn.access"
)


def post_fork(server: object, worker: object) -> None:
    """Shorter GIL switch interval: a thread whose DB reply has arrived gets the
    GIL sooner, which trims tail latency with several threads per worker."""
    import sys

    sys.setswitchinterval(float(os.environ.get("GIL_SWITCH_INTERVAL", "0.001")))
