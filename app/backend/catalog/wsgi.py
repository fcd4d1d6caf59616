"""gunicorn entry point: ``gunicorn -c gunicorn.conf.py catalog.wsgi:app``."""

from __future__ import annotations

import atexit

from . import create_app

app = create_app()
atexit.register(app.extensions["catalog_db"].close)
