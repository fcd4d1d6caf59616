#!/usr/bin/env python3
"""Run the Catalog API locally: ``python scripts/run_local.py --port 8000``.

* Starts a throwaway PostgreSQL unless DB_WRITER_HOST is set in the environment.
* The app migrates and seeds the demo catalog at startup (SEED_DEMO_DATA=true).
* Serves with granian (``serve.py``, as in the image) on --host/--port and prints ``READY http://host:port``
  once /api/health answers 200.
* Unless MEDIA_SIGNING_KEY_FILE is set, generates a throwaway media signing key
  (no CloudFront locally: the dev server serves /media/ without checking cookies).
* SIGTERM/SIGINT stop the server and remove the throwaway database and key.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import FrameType

BACKEND = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BACKEND))

from devtools.local_pg import LocalPostgres  # noqa: E402
from devtools.signing_key import dev_media_env  # noqa: E402


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--no-seed", action="store_true", help="do not load the demo catalog")
    parser.add_argument("--ready-timeout", type=float, default=60.0)
    args = parser.parse_args(argv)

    env = dict(os.environ)
    pg: LocalPostgres | None = None
    if not env.get("DB_WRITER_HOST"):
        pg = LocalPostgres().start()
        env.update(pg.env())
        print(f"started throwaway PostgreSQL on {pg.host}:{pg.port}", file=sys.stderr, flush=True)
    env.setdefault("SEED_DEMO_DATA", "false" if args.no_seed else "true")
    env.setdefault("CORS_ALLOWED_ORIGINS", "*")
    env.setdefault("DB_SSLMODE", "disable")
    env.setdefault("LOG_LEVEL", "INFO")
    key_dir: Path | None = None
    if not env.get("MEDIA_SIGNING_KEY_FILE") and not env.get("MEDIA_SIGNING_SECRET_ARN"):
        key_dir = Path(tempfile.mkdtemp(prefix="catalog-media-key-"))
        env = {**dev_media_env(key_dir), **env}
        # http://127.0.0.1: cookies without the Secure flag (CloudFront is HTTPS-only).
        env.setdefault("MEDIA_COOKIE_SECURE", "false")
    env["BIND"] = f"{args.host}:{args.port}"
    env["WEB_CONCURRENCY"] = str(args.workers)
    env["WSGI_THREADS"] = str(args.threads)
    env["PYTHONPATH"] = str(BACKEND) + os.pathsep + env.get("PYTHONPATH", "")

    cmd = [sys.executable, str(BACKEND / "serve.py")]
    proc = subprocess.Popen(cmd, cwd=BACKEND, env=env)
    stopping = False

    def shutdown(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    code = 1
    try:
        shown_host = "127.0.0.1" if args.host == "0.0.0.0" else args.host
        base = f"http://{shown_host}:{args.port}"
        if wait_ready(f"{base}/api/health", proc, args.ready_timeout):
            print(f"READY {base}", flush=True)
        elif not stopping:
            print("catalog API did not become ready", file=sys.stderr, flush=True)
            proc.terminate()
        while True:
            try:
                code = proc.wait()
                break
            except KeyboardInterrupt:  # pragma: no cover - second Ctrl-C
                proc.terminate()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if pg is not None:
            pg.cleanup()
        if key_dir is not None:
            shutil.rmtree(key_dir, ignore_errors=True)
    return 0 if stopping else code


if __name__ == "__main__":
    sys.exit(main())
