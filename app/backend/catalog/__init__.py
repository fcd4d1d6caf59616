"""Catalog API: Flask application factory."""

from __future__ import annotations

import logging
import time

from flask import Flask

from . import api, errors, http, logs
from .config import Config
from .db import Database, is_transient
from .migrate import migrate
from .playback import signer_from_config
from .seed import seed_demo_catalog

__all__ = ["Config", "Database", "create_app", "prepare_database"]

log = logging.getLogger(__name__)


def prepare_database(db: Database, *, seed: bool, wait_seconds: float = 60.0) -> None:
    """Apply migrations (and the demo seed), waiting for the database to come up."""
    deadline = time.monotonic() + wait_seconds
    delay = 0.5
    while True:
        try:
            with db.connect() as conn:
                applied = migrate(conn)
                inserted = seed_demo_catalog(conn) if seed else 0
            log.info("database ready", extra={"migrations_applied": applied, "seeded": inserted})
            return
        except Exception as exc:
            if not is_transient(exc) or time.monotonic() + delay > deadline:
                raise
            log.warning("database not ready; retrying", extra={"error": str(exc).strip()})
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def create_app(config: Config | None = None, *, database: Database | None = None) -> Flask:
    """Build the WSGI app. Reads the environment only when no config is given."""
    config = config or Config.from_env()
    logs.configure_logging(config.log_level)

    app = http.CatalogFlask(__name__)
    app.config["CATALOG"] = config
    app.config["MAX_CONTENT_LENGTH"] = api.MAX_BODY_BYTES
    # No redirects: `//api//videos` would otherwise get a 308 whose Location
    # is built from the client's Host header.
    app.url_map.merge_slashes = False
    # Before touching the database: without its signing key the API cannot entitle playback.
    app.extensions["media_signer"] = signer_from_config(config)

    db = database or Database(config)
    if config.run_migrations:
        prepare_database(db, seed=config.seed_demo_data)
    db.open()
    app.extensions["catalog_db"] = db

    # Response headers and the access log: one WSGI layer inside ProxyFix.
    http.init_app(app)
    errors.init_app(app)
    app.register_blueprint(api.probes)
    app.register_blueprint(api.api)

    # Trust exactly the proxies in front of the task (ALB adds one hop).
    app.wsgi_app = http.TrustedHops(  # type: ignore[method-assign]
        app.wsgi_app, x_for=config.proxy_fix_x_for, x_proto=config.proxy_fix_x_proto
    )
    return app
