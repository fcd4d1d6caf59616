"""The response headers the origins really send, for the CDN model.

* Web app (nginx): captured by running nginx with the project's own config
  (app/frontend/nginx), as the frontend's browser tests do, on a throwaway document root.
* Catalog API (Flask): read from the app's code. `catalog/api.py` says which routes
  answer `json_response(..., cacheable=True)`; `catalog/http.py` writes
  `public, max-age=<CACHE_MAX_AGE>, stale-while-revalidate=<default>` on those and
  `no-store` on every other response. CACHE_MAX_AGE is the value the template hands the
  task (SSM parameter `/tap/<suffix>/app/cache-max-age`). Reading the code needs no
  database and no backend virtualenv, and it changes when the code changes.
* Media objects (S3): app/media/formats.json, as the publisher and the demo deployment set them.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BACKEND = ROOT / "app" / "backend" / "catalog"
NGINX_DIR = ROOT / "app" / "frontend" / "nginx"

# Media object metadata: the Content-Type and Cache-Control that the publisher and the
# stack's demo-media deployment both set, read from their one source (app/media/formats.json).
MEDIA_FORMATS = ROOT / "app" / "media" / "formats.json"


def media_object_headers(path: str) -> Mapping[str, str]:
    """The headers S3 returns for a published media object, by its extension."""
    formats = json.loads(MEDIA_FORMATS.read_text())["files"]
    entry = formats[path.rsplit(".", 1)[-1]]
    return {"Cache-Control": entry["cache_control"], "Content-Type": entry["content_type"]}


class HeaderCaptureError(RuntimeError):
    pass


@dataclass(frozen=True)
class BackendRoute:
    method: str
    regex: re.Pattern[str]
    cacheable: bool


def backend_routes(api_source: Path = BACKEND / "api.py") -> list[BackendRoute]:
    """Every `@api.<method>(path)` route of the catalog API and whether it answers cacheable."""
    tree = ast.parse(api_source.read_text())
    routes: list[BackendRoute] = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        cacheable = any(
            isinstance(call, ast.Call)
            and getattr(call.func, "id", None) == "json_response"
            and any(k.arg == "cacheable" and getattr(k.value, "value", False) is True for k in call.keywords)
            for call in ast.walk(node)
        )
        for decorator in node.decorator_list:
            if (
                isinstance(decorator, ast.Call)
                and isinstance(decorator.func, ast.Attribute)
                and getattr(decorator.func.value, "id", None) == "api"
                and decorator.args
                and isinstance(decorator.args[0], ast.Constant)
            ):
                path = "/api" + str(decorator.args[0].value)
                pattern = re.sub(r"<[^>]+>", "[^/]+", re.escape(path).replace(r"\<", "<").replace(r"\>", ">"))
                routes.append(BackendRoute(decorator.func.attr.upper(), re.compile(pattern + r"\Z"), cacheable))
    if not any(r.cacheable for r in routes):
        raise HeaderCaptureError(f"no cacheable route found in {api_source}: has json_response(cacheable=True) moved?")
    return routes


def backend_default(field_name: str, config_source: Path = BACKEND / "config.py") -> int:
    """The default of a field of the backend's Config dataclass."""
    for node in ast.walk(ast.parse(config_source.read_text())):
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == field_name and node.value is not None:
            return int(ast.literal_eval(node.value))
    raise HeaderCaptureError(f"{field_name} not found in {config_source}")


def template_cache_max_age(template: dict[str, Any]) -> int:
    """CACHE_MAX_AGE as the template hands it to the backend task (its SSM parameter)."""
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::SSM::Parameter" and str(props.get("Name", "")).endswith("/app/cache-max-age"):
            return int(props["Value"])
    raise HeaderCaptureError("no SSM parameter .../app/cache-max-age in the template")


class BackendHeaders:
    def __init__(self, max_age: int) -> None:
        self.routes = backend_routes()
        swr = backend_default("cache_stale_while_revalidate")
        self.cacheable = {"Cache-Control": f"public, max-age={max_age}, stale-while-revalidate={swr}"}
        self.other = {"Cache-Control": "no-store"}

    def __call__(self, method: str, path: str) -> Mapping[str, str]:
        lookup = "GET" if method == "HEAD" else method
        for route in self.routes:
            if route.method == lookup and route.regex.match(path):
                return self.cacheable if route.cacheable else self.other
        return self.other  # 404/405 answers: no-store like every non-cacheable response


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def serve_nginx() -> Iterator[str]:
    """nginx with the project's config on a throwaway root (index.html, two hashed assets); yields its base URL."""
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        raise HeaderCaptureError("nginx is not installed (apt-get install nginx); `make bench-cdn` installs it when run as root")
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="bench-nginx-") as tmp:
        work = Path(tmp)
        # The config's /tmp paths and its access log move into the throwaway root.
        config = (NGINX_DIR / "nginx.conf").read_text().replace("/tmp/", f"{work}/")  # noqa: S108
        (work / "nginx.conf").write_text(config.replace("access_log /dev/stdout", f"access_log {work}/access.log"))
        shutil.copy("/etc/nginx/mime.types", work / "mime.types")
        shutil.copytree(NGINX_DIR / "snippets", work / "snippets")
        (work / "conf.d").mkdir()
        site = (NGINX_DIR / "default.conf").read_text()
        site = re.sub(r"listen 8080[^;]*;", f"listen 127.0.0.1:{port};", site).replace("/usr/share/nginx/html", f"{work}/html")
        (work / "conf.d" / "default.conf").write_text(site)
        html = work / "html"
        (html / "assets").mkdir(parents=True)
        (html / "index.html").write_text(
            "<!doctype html><title>app</title><script type=module src=/assets/index-0a1b2c3d.js></script>"
        )
        (html / "assets" / "index-0a1b2c3d.js").write_text("console.log('app');\n" * 50)
        (html / "assets" / "index-0a1b2c3d.css").write_text("body{margin:0}\n" * 50)
        (html / "favicon.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
        argv = [nginx, "-p", str(work), "-c", str(work / "nginx.conf"), "-e", "stderr", "-g", "daemon off;"]
        if os.geteuid() == 0:  # as in the container, nginx runs unprivileged
            os.chmod(work, 0o755)  # noqa: S103 (nginx, as nobody, must read its prefix)
            for owned in [work, *work.rglob("*")]:
                os.chown(owned, 65534, 65534)
            argv = ["runuser", "-u", "nobody", "--", *argv]
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 10
            while True:
                try:
                    urllib.request.urlopen(f"{base}/health", timeout=1).close()  # noqa: S310 (local nginx)
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise HeaderCaptureError(
                            f"nginx did not start: {process.stderr.read() if process.stderr else ''}"
                        ) from None
                    time.sleep(0.1)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=10)


def capture_nginx_headers(paths: list[str]) -> dict[str, dict[str, str]]:
    """Start nginx with the project's config on a throwaway root and GET each path."""
    captured: dict[str, dict[str, str]] = {}
    with serve_nginx() as base:
        for path in paths:
            request = urllib.request.Request(f"{base}{path}", headers={"Accept-Encoding": "gzip"})  # noqa: S310
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                captured[path] = {k: v for k, v in response.headers.items() if k.lower() in ("cache-control", "expires")}
    return captured
