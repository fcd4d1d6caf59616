"""Build the shipped Dockerfiles and run their images the way ECS on Fargate runs them.

Everything about *how* a container runs comes from the synthesized template
(task definitions, listener rules, ECS services); the only local choices are the
values behind the environment variable and secret names, which the tests pass in.
"""

from __future__ import annotations

import fnmatch
import http.client
import json
import os
import re
import secrets
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]

# The images the suite builds, the base-image build arguments of each, and the timings it prints at the end.
IMAGES = {"backend": "localhost/tap-test-backend:latest", "frontend": "localhost/tap-test-frontend:latest"}
BASE_ARGS = {"backend": ["PYTHON_IMAGE"], "frontend": ["NODE_IMAGE", "NGINX_IMAGE"]}
TIMINGS: dict[str, float] = {}
# podman's default crun does not run here; runc does, with explicit ulimits.
PODMAN = ["podman", "--runtime", "runc"]
ULIMITS = ["--ulimit", "nofile=1024:4096", "--ulimit", "nproc=1024:4096"]
BUILD_CA_TARGET = "/run/secrets/build-ca.pem"


def podman(*args: str, check: bool = True, timeout: float | None = 900, capture: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([*PODMAN, *args], capture_output=capture, text=True, check=False, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"podman {' '.join(args[:3])} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the template -------------------------------------------------------------
@dataclass(frozen=True)
class HealthCheck:
    command: list[str]
    interval: int
    timeout: int
    retries: int
    start_period: int

    @property
    def budget(self) -> int:
        """The longest a healthy start may take before ECS calls the container unhealthy: the start period, then
        `retries` failed checks an interval apart, the last one running out its timeout."""
        return self.start_period + self.retries * self.interval + self.timeout

    def argv(self) -> list[str]:
        kind, *rest = self.command
        if kind == "CMD-SHELL":
            return ["/bin/sh", "-c", " ".join(rest)]
        assert kind == "CMD", f"unknown health-check form {kind}"
        return rest


@dataclass(frozen=True)
class TaskContainer:
    """One container definition of an ECS task definition, as synthesized."""

    family: str
    name: str
    user: str | None
    readonly_root: bool
    mounts: list[tuple[str, str, bool]]  # (container path, volume name, read only)
    volumes: dict[str, dict[str, Any]]
    ports: list[int]
    environment: dict[str, Any]
    secret_names: list[str]
    health: HealthCheck | None
    stop_timeout: int
    command: list[str] | None
    entry_point: list[str] | None
    # The task size Fargate enforces (task Cpu in units of 1/1024 vCPU, Memory in MiB; a container's own hard
    # Memory limit, when set, is its limit instead).
    cpu_units: int
    memory_mib: int


def task_containers(template: dict[str, Any]) -> dict[str, TaskContainer]:
    out: dict[str, TaskContainer] = {}
    for res in template["Resources"].values():
        if res["Type"] != "AWS::ECS::TaskDefinition":
            continue
        props = res["Properties"]
        volumes = {v["Name"]: v for v in props.get("Volumes", [])}
        for c in props["ContainerDefinitions"]:
            hc = c.get("HealthCheck")
            out[c["Name"]] = TaskContainer(
                family=props.get("Family", ""),
                name=c["Name"],
                user=c.get("User"),
                readonly_root=bool(c.get("ReadonlyRootFilesystem", False)),
                mounts=[
                    (m["ContainerPath"], m["SourceVolume"], bool(m.get("ReadOnly", False))) for m in c.get("MountPoints", [])
                ],
                volumes=volumes,
                ports=[p["ContainerPort"] for p in c.get("PortMappings", [])],
                environment={e["Name"]: e["Value"] for e in c.get("Environment", [])},
                secret_names=[s["Name"] for s in c.get("Secrets", [])],
                health=HealthCheck(
                    command=hc["Command"],
                    # ECS defaults (CloudFormation HealthCheck reference).
                    interval=hc.get("Interval", 30),
                    timeout=hc.get("Timeout", 5),
                    retries=hc.get("Retries", 3),
                    start_period=hc.get("StartPeriod", 0),
                )
                if hc
                else None,
                # Fargate's default stop timeout is 30 s when the definition sets none.
                stop_timeout=c.get("StopTimeout", 30),
                command=c.get("Command"),
                entry_point=c.get("EntryPoint"),
                cpu_units=int(props["Cpu"]),
                memory_mib=int(c.get("Memory", props["Memory"])),
            )
    return out


@dataclass(frozen=True)
class Rule:
    priority: int
    paths: list[str]
    headers: dict[str, list[Any]]
    target_group: str  # logical id of the forward target with the highest weight


@dataclass(frozen=True)
class DefaultAction:
    """The listener's default action: a fixed response, or a Lambda target whose inline code is run here."""

    status: int | None = None
    body: str = ""
    lambda_code: str | None = None
    lambda_handler: str | None = None

    def respond(self, method: str, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if self.lambda_code is not None:
            assert self.lambda_handler, "a Lambda target needs its handler"
            namespace: dict[str, Any] = {}
            # The template's own inline function code, run as the ALB would invoke it.
            exec(compile(self.lambda_code, "<default-action>", "exec"), namespace)  # noqa: S102
            event = {"httpMethod": method, "path": path, "headers": headers, "body": "", "isBase64Encoded": False}
            result = namespace[self.lambda_handler.rsplit(".", 1)[-1]](event, None)
            return int(result["statusCode"]), dict(result.get("headers", {})), str(result.get("body", "")).encode()
        assert self.status is not None, "listener default action not modelled"
        return self.status, {}, self.body.encode()


@dataclass(frozen=True)
class Routing:
    """The ALB's listener rules for one listener, and which container each target group reaches."""

    rules: list[Rule]
    default: DefaultAction
    target_containers: dict[str, tuple[str, int]]  # target-group logical id -> (container, port)


def _ref(value: Any) -> str:
    assert isinstance(value, dict) and "Ref" in value, f"expected a Ref, got {value!r}"
    return str(value["Ref"])


def alb_routing(template: dict[str, Any]) -> Routing:
    resources = template["Resources"]
    rules_by_listener: dict[str, list[Rule]] = {}
    for res in resources.values():
        if res["Type"] != "AWS::ElasticLoadBalancingV2::ListenerRule":
            continue
        props = res["Properties"]
        paths: list[str] = []
        headers: dict[str, list[Any]] = {}
        for cond in props["Conditions"]:
            if cond["Field"] == "path-pattern":
                paths += cond.get("PathPatternConfig", {}).get("Values", cond.get("Values", []))
            elif cond["Field"] == "http-header":
                cfg = cond["HttpHeaderConfig"]
                headers[cfg["HttpHeaderName"].lower()] = cfg["Values"]
            else:
                raise AssertionError(f"listener rule condition {cond['Field']} is not modelled by the local router")
        forward = next(a for a in props["Actions"] if a["Type"] == "forward")
        groups = forward.get("ForwardConfig", {}).get("TargetGroups") or [
            {"TargetGroupArn": forward["TargetGroupArn"], "Weight": 1}
        ]
        top = max(groups, key=lambda g: g.get("Weight", 1))
        rule = Rule(int(props["Priority"]), paths, headers, _ref(top["TargetGroupArn"]))
        rules_by_listener.setdefault(_ref(props["ListenerArn"]), []).append(rule)
    # The listener whose rules forward to the services: the production one
    # (HTTP without a certificate, HTTPS with one) carries the most rules.
    listener_id = max(rules_by_listener, key=lambda k: len(rules_by_listener[k]))
    listener = resources[listener_id]["Properties"]
    action = listener["DefaultActions"][0]
    if action["Type"] == "fixed-response":
        cfg = action["FixedResponseConfig"]
        default = DefaultAction(status=int(cfg["StatusCode"]), body=cfg.get("MessageBody", ""))
    else:
        assert action["Type"] == "forward", f"default action {action['Type']} is not modelled"
        group = resources[_ref(action["TargetGroupArn"])]["Properties"]
        assert group.get("TargetType") == "lambda", "the default action forwards to a Lambda target"
        function = resources[group["Targets"][0]["Id"]["Fn::GetAtt"][0]]["Properties"]
        default = DefaultAction(lambda_code=function["Code"]["ZipFile"], lambda_handler=function["Handler"])
    targets: dict[str, tuple[str, int]] = {}
    for res in resources.values():
        if res["Type"] != "AWS::ECS::Service":
            continue
        for lb in res["Properties"].get("LoadBalancers", []):
            container = (lb["ContainerName"], int(lb["ContainerPort"]))
            targets[_ref(lb["TargetGroupArn"])] = container
            alt = lb.get("AdvancedConfiguration", {}).get("AlternateTargetGroupArn")
            if alt:
                targets[_ref(alt)] = container
    return Routing(sorted(rules_by_listener[listener_id], key=lambda r: r.priority), default, targets)


# --- build settings -------------------------------------------------------------
@dataclass
class BuildSettings:
    """The host's package-index settings, as optional build secrets (never build args)."""

    secrets: dict[str, Path] = field(default_factory=dict)
    canary: str = field(default_factory=lambda: "build-only-" + secrets.token_hex(12))

    def args(self) -> list[str]:
        return [f"--secret=id={sid},src={path}" for sid, path in self.secrets.items()]


def host_build_settings(workdir: Path) -> BuildSettings:
    """pip.conf and .npmrc for the build, derived from this machine's pip and npm settings.

    Only settings that make sense inside a container are kept: index URLs that are
    not local files, trusted hosts, timeouts, and the CA bundle (passed as its own
    secret and referenced by its mount path). Each file carries a random canary so
    the tests can prove neither ever lands in an image layer.
    """
    settings = BuildSettings()
    ca: Path | None = None
    pip_lines = [f"# {settings.canary}", "[global]"]
    listing = subprocess.run(["python3", "-m", "pip", "config", "list"], capture_output=True, text=True, check=False).stdout
    seen: set[str] = set()
    for line in listing.splitlines():
        m = re.match(r"^[^.]*\.([a-z-]+)='(.*)'$", line.strip())
        if not m or m.group(1) in seen:
            continue
        key, value = m.groups()
        if key == "cert" and Path(value).is_file():
            ca = Path(value)
            pip_lines.append(f"cert = {BUILD_CA_TARGET}")
        elif key in ("index-url", "extra-index-url"):
            urls = [u for u in value.split() if u.startswith(("http://", "https://"))]
            if urls:
                pip_lines.append(f"{key} = {' '.join(urls)}")
        elif key in ("trusted-host", "timeout", "default-timeout", "retries", "proxy"):
            pip_lines.append(f"{key} = {value}")
        else:
            continue
        seen.add(key)
    npm_lines = [f"# {settings.canary}"]
    for key in ("registry", "cafile", "strict-ssl", "proxy", "https-proxy"):
        value = subprocess.run(["npm", "config", "get", key], capture_output=True, text=True, check=False).stdout.strip()
        if value in ("", "null", "undefined"):
            continue
        if key == "cafile":
            ca = ca or Path(value)
            value = BUILD_CA_TARGET
        npm_lines.append(f"{key}={value}")
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "pip.conf").write_text("\n".join(pip_lines) + "\n")
    (workdir / "npmrc").write_text("\n".join(npm_lines) + "\n")
    settings.secrets = {"pip.conf": workdir / "pip.conf", "npmrc": workdir / "npmrc"}
    if ca is not None and ca.is_file():
        settings.secrets["build-ca.pem"] = ca
    return settings


def build_image(
    context: Path, tag: str, build_args: dict[str, str], settings: BuildSettings, dockerfile: Path | None = None
) -> float:
    start = time.monotonic()
    args = ["build", "--network", "host", *ULIMITS, "--tag", tag]
    args += [f"--build-arg={k}={v}" for k, v in build_args.items()]
    args += settings.args()
    if dockerfile is not None:
        args += ["--file", str(dockerfile)]
    podman(*args, str(context), timeout=1800)
    return time.monotonic() - start


def image_config(image: str) -> dict[str, Any]:
    data = json.loads(podman("image", "inspect", image).stdout)[0]
    return dict(data["Config"])


def image_size(image: str) -> int:
    return int(podman("image", "inspect", "--format", "{{.Size}}", image).stdout.strip())


# --- running a container as ECS does ------------------------------------------
@dataclass
class Running:
    name: str
    spec: TaskContainer
    image: str
    host_ports: dict[int, int]

    def url(self, port: int | None = None) -> str:
        return f"http://127.0.0.1:{self.host_ports[port or self.spec.ports[0]]}"

    def state(self) -> dict[str, Any]:
        return dict(json.loads(podman("inspect", "--type", "container", self.name).stdout)[0]["State"])

    def logs(self) -> str:
        result = podman("logs", self.name, check=False)
        return (result.stdout + result.stderr)[-4000:]

    def exec(self, argv: list[str], timeout: float) -> int:
        try:
            return podman("exec", self.name, *argv, check=False, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            return 124

    def wait_healthy(self) -> float:
        """Run the task definition's health check as ECS does; return seconds until healthy.

        The first check runs one interval after the start, then every interval; failures
        inside the start period do not count; `retries` consecutive failures after it mean
        unhealthy. A container that exits fails at once, with its log.
        """
        hc = self.spec.health
        assert hc is not None, f"{self.spec.name}: the task definition has no health check"
        started = time.monotonic()
        failures = 0
        next_check = started + hc.interval
        while True:
            while time.monotonic() < next_check:
                state = self.state()
                if not state.get("Running"):
                    raise AssertionError(
                        f"{self.spec.name} exited (code {state.get('ExitCode')}) before it was healthy:\n{self.logs()}"
                    )
                time.sleep(0.5)
            rc = self.exec(hc.argv(), timeout=hc.timeout)
            now = time.monotonic()
            if rc == 0:
                return now - started
            if now - started > hc.start_period:
                failures += 1
                if failures >= hc.retries:
                    raise AssertionError(f"{self.spec.name} unhealthy: health check exited {rc} {failures} times:\n{self.logs()}")
            next_check = now + hc.interval

    def stop(self) -> tuple[float, int]:
        """`podman stop` with the task's stop timeout: the image's stop signal, then SIGKILL."""
        start = time.monotonic()
        podman("stop", "--time", str(self.spec.stop_timeout), self.name, timeout=self.spec.stop_timeout + 30)
        elapsed = time.monotonic() - start
        return elapsed, int(self.state()["ExitCode"])

    def remove(self) -> None:
        podman("rm", "--force", "--volumes", self.name, check=False)


def run_as_task(
    spec: TaskContainer,
    image: str,
    values: dict[str, str],
    *,
    name: str,
    scratch: Path,
    platform_env: dict[str, str] | None = None,
    ignore_image_volumes: bool = False,
    files: dict[str, Path] | None = None,
) -> Running:
    """Start `image` with the task definition's settings (its task size included); `values` gives every env var and
    secret a local value.

    `platform_env` stands for what ECS adds by itself (the task role's credentials);
    `ignore_image_volumes` mounts Fargate's plain bind mount even where the image declares a volume.
    `files` (container path -> host file, read-only) stands in for what a local run cannot reach the real way
    (the database's CA: Aurora's is the bundle in the image, the throwaway server's is not).
    """
    args = ["run", "--detach", "--name", name, *ULIMITS]
    # Fargate's task size: a hard memory limit with no swap (over it the kernel kills the process, exit 137) and
    # the task's vCPU as a CPU quota.
    args += ["--memory", f"{spec.memory_mib}m", "--memory-swap", f"{spec.memory_mib}m"]
    args += ["--cpus", f"{spec.cpu_units / 1024:g}"]
    if spec.readonly_root:
        # Without --read-only-tmpfs=false podman adds a writable tmpfs on /tmp, which Fargate does not.
        args += ["--read-only", "--read-only-tmpfs=false"]
    declared = set() if ignore_image_volumes else set((image_config(image).get("Volumes") or {}).keys())
    for path, volume, read_only in spec.mounts:
        vol = spec.volumes[volume]
        assert not (set(vol) - {"Name"}), f"volume {volume}: only Fargate task storage is modelled, got {vol}"
        suffix = ":ro" if read_only else ""
        if path in declared:
            # Fargate copies the image's content and mode into the volume: an anonymous volume does the same.
            args += ["--volume", f"{path}{suffix}"]
        else:
            # Otherwise Fargate's bind mount is an empty directory owned by root, mode 0755.
            host_dir = Path(tempfile.mkdtemp(prefix=f"{volume}-", dir=scratch))
            host_dir.chmod(0o755)
            os.chown(host_dir, 0, 0)
            args += ["--volume", f"{host_dir}:{path}{suffix}"]
    for path, host_file in (files or {}).items():
        args += ["--volume", f"{host_file}:{path}:ro"]
    if spec.user:
        args += ["--user", spec.user]
    names = [*spec.environment, *spec.secret_names]
    missing = [n for n in names if n not in values and not isinstance(spec.environment.get(n), str)]
    assert not missing, f"{spec.name}: no local value for {missing} (a new variable in the task definition?)"
    for n in names:
        value = values.get(n, spec.environment.get(n))
        args += ["--env", f"{n}={value}"]
    for n, value in (platform_env or {}).items():
        args += ["--env", f"{n}={value}"]
    host_ports = {port: free_port() for port in spec.ports}
    for port, host in host_ports.items():
        args += ["--publish", f"127.0.0.1:{host}:{port}"]
    if spec.entry_point:
        args += ["--entrypoint", json.dumps(spec.entry_point)]
    args.append(image)
    if spec.command:
        args += spec.command
    podman(*args)
    return Running(name, spec, image, host_ports)


# --- the ALB stand-in -----------------------------------------------------------
class PathRouter:
    """Applies the listener rules of the template: path patterns, header values, priorities, default action."""

    def __init__(self, routing: Routing, header_values: dict[str, str], backends: dict[str, str]) -> None:
        self.routing = routing
        self.header_values = {k.lower(): v for k, v in header_values.items()}
        self.backends = backends  # container name -> base URL
        router = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _any(self) -> None:
                router.forward(self)

            do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> PathRouter:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _header_matches(self, name: str, allowed: list[Any], actual: str | None) -> bool:
        if actual is None:
            return False
        for value in allowed:
            if not isinstance(value, str):
                # A dynamic reference (the origin-verify secret): its local value.
                value = self.header_values[name]
            if fnmatch.fnmatchcase(actual.lower(), value.lower()):
                return True
        return False

    def choose(self, path: str, headers: dict[str, str]) -> str | None:
        lowered = {k.lower(): v for k, v in headers.items()}
        for rule in self.routing.rules:
            if rule.paths and not any(fnmatch.fnmatchcase(path, p) for p in rule.paths):
                continue
            if all(self._header_matches(h, vals, lowered.get(h)) for h, vals in rule.headers.items()):
                return self.routing.target_containers[rule.target_group][0]
        return None

    def forward(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?", 1)[0]
        container = self.choose(path, dict(handler.headers.items()))
        if container is None:
            status, default_headers, default_body = self.routing.default.respond(
                handler.command, path, dict(handler.headers.items())
            )
            handler.send_response(status)
            for k, v in default_headers.items():
                handler.send_header(k, v)
            handler.send_header("Content-Length", str(len(default_body)))
            handler.end_headers()
            if handler.command != "HEAD":
                handler.wfile.write(default_body)
            return
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else None
        target = self.backends[container].removeprefix("http://")
        conn = http.client.HTTPConnection(target, timeout=60)
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in ("connection", "keep-alive")}
        headers["X-Forwarded-For"] = handler.client_address[0]
        conn.request(handler.command, handler.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        handler.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("connection", "keep-alive", "transfer-encoding", "content-length"):
                handler.send_header(k, v)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(data)
        conn.close()


# --- Secrets Manager stand-in ---------------------------------------------------
class FakeSecretsManager:
    """GetSecretValue over the AWS JSON protocol (the app's real boto3 path).

    `secrets` maps each ARN to its SecretString; `calls` counts reads of `counted` (the first ARN).
    """

    def __init__(self, secrets: dict[str, str], bind: str = "0.0.0.0") -> None:
        self.calls = 0
        counted = next(iter(secrets))
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                target = self.headers.get("X-Amz-Target", "")
                payload: dict[str, Any]
                arn = body.get("SecretId")
                if target != "secretsmanager.GetSecretValue" or arn not in secrets:
                    status, payload = 400, {"__type": "ResourceNotFoundException", "message": f"{target} {body.get('SecretId')}"}
                else:
                    fake.calls += arn == counted
                    status, payload = (
                        200,
                        {
                            "ARN": arn,
                            "Name": arn.rsplit(":", 1)[-1],
                            "VersionId": "v1",
                            "SecretString": secrets[arn],
                            "VersionStages": ["AWSCURRENT"],
                            "CreatedDate": 0,
                        },
                    )
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer((bind, 0), Handler)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeSecretsManager:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
