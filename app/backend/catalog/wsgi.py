"""WSGI entry point: ``catalog.wsgi:app`` (served by granian through ``serve.py``)."""

from __future__ import annotations

import atexit

from . import create_app, logs

logs.lean_records()
app = create_app()
atexit.register(app.extensions["catalog_db"].close)
