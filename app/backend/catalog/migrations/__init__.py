"""Versioned SQL migrations (``NNNN_name.sql``), applied in order at startup."""
