#!/usr/bin/env python3
"""Look-alike base images for building the real Dockerfiles without a registry.

No container registry is reachable from the test machines, so the official bases
(``python:3.11-slim-bookworm``, ``node:20-bookworm-slim``,
``nginxinc/nginx-unprivileged:1.27-alpine``) cannot be pulled. This script builds
stand-ins from Debian packages with ``mmdebstrap`` and ``podman import``; the
Dockerfiles take them through their base-image build arguments, so every
``RUN``/``COPY``/``USER`` line of the shipped Dockerfiles runs unchanged.

What each stand-in copies from its original (and what it cannot):

* python: Debian bookworm (like the official image), CPython 3.11 from Debian
  (3.11.2; the official image builds the newest 3.11 into /usr/local), ``python``
  on PATH, ``venv`` with its bundled pip, ca-certificates, no PEP 668 marker,
  ``/tmp`` 1777. The official image's own ``pip`` is not there (the Dockerfile
  only uses the virtualenv's).
* node: Debian bookworm with the host's Node 20 binary and npm under /usr/local,
  as in the official ``node:20-bookworm-slim``.
* nginx: NOT faithful. The original is Alpine (musl, busybox); no Alpine package
  repository is reachable, so this is Debian bookworm with Debian's nginx 1.22
  (the original ships 1.27) and busybox's ``wget`` (the original's health-check
  client), laid out like the original: user ``nginx`` uid/gid 101, config in
  /etc/nginx (``mime.types``, ``conf.d``), content in /usr/share/nginx/html,
  logs linked to stdout/stderr, ``USER 101``, ``STOPSIGNAL SIGQUIT``, ``/tmp`` 1777.
  The upstream entrypoint script (``/docker-entrypoint.sh``) is not copied: the
  task definition does not override the command, so on Fargate it runs first;
  its scripts skip themselves on a read-only root filesystem.

Each image is tagged with a hash of its recipe (this file's recipe data, the
Debian suite and, for node, the host's Node version), and its root filesystem
tarball is cached under ``$TAP_CONTAINER_CACHE`` (default
``~/.cache/tap-containers``), so a second run reuses both.

Usage: ``python scripts/container_bases.py`` prints ``NAME=IMAGE`` lines, one per
build argument (``PYTHON_IMAGE``, ``NODE_IMAGE``, ``NGINX_IMAGE``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

SUITE = "bookworm"
MIRRORS = [
    f"deb http://deb.debian.org/debian {SUITE} main",
    f"deb http://deb.debian.org/debian {SUITE}-updates main",
    f"deb http://deb.debian.org/debian-security {SUITE}-security main",
]
# Like the official Debian "slim" images: no manuals, documentation or translations.
SLIM = [
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/locale/*",
    "path-exclude=/usr/share/info/*",
]
CLEAN = 'rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/cache/apt/archives/*.deb "$1"/var/log/*.log'
MERGED_USR = "/usr/share/mmdebstrap/hooks/merged-usr"
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class Base:
    """One look-alike: the build argument it feeds, packages, hooks and image config."""

    arg: str
    real: str
    name: str
    packages: list[str]
    hooks: list[str]
    changes: list[str]
    extra_key: list[str] = field(default_factory=list)

    def recipe_hash(self) -> str:
        recipe = json.dumps([SUITE, MIRRORS, SLIM, CLEAN, MERGED_USR, self.__dict__], sort_keys=True)
        return hashlib.sha256(recipe.encode()).hexdigest()[:16]

    def image(self) -> str:
        return f"localhost/tap-lookalike-{self.name}:{self.recipe_hash()}"


def _node_root() -> Path:
    node = shutil.which("node")
    if not node:
        raise SystemExit("node is not installed on this machine: the node look-alike copies the host's Node 20")
    return Path(node).resolve().parent.parent


def _node_version() -> str:
    return subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout.strip()


def bases() -> list[Base]:
    node_root = _node_root() if shutil.which("node") else Path("/usr")
    return [
        Base(
            arg="PYTHON_IMAGE",
            real="python:3.11-slim-bookworm",
            name="python",
            packages=["python3", "python3-venv", "ca-certificates", "netbase", "tzdata"],
            hooks=[
                'ln -sf /usr/bin/python3 "$1/usr/local/bin/python"',
                'rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED',
            ],
            changes=[f"ENV {PATH_ENV}", "ENV LANG=C.UTF-8", 'CMD ["python3"]'],
        ),
        Base(
            arg="NODE_IMAGE",
            real="node:20-bookworm-slim",
            name="node",
            packages=["ca-certificates", "libstdc++6"],
            hooks=[
                f'cp "{node_root}/bin/node" "$1/usr/local/bin/node"',
                f'mkdir -p "$1/usr/local/lib/node_modules" && cp -a "{node_root}/lib/node_modules/npm" "$1/usr/local/lib/node_modules/"',
                'ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm"',
                'ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"',
            ],
            changes=[f"ENV {PATH_ENV}", 'CMD ["node"]'],
            extra_key=[_node_version() if shutil.which("node") else "none"],
        ),
        Base(
            arg="NGINX_IMAGE",
            real="nginxinc/nginx-unprivileged:1.27-alpine",
            name="nginx",
            packages=["nginx-light", "busybox", "ca-certificates"],
            hooks=[
                'chroot "$1" groupadd --system --gid 101 nginx',
                'chroot "$1" useradd --system --uid 101 --gid 101 --no-create-home --home-dir /nonexistent '
                "--shell /sbin/nologin nginx",
                'ln -sf /bin/busybox "$1/usr/bin/wget"',
                'rm -f "$1"/etc/nginx/sites-enabled/* && mkdir -p "$1/usr/share/nginx/html" "$1/etc/nginx/conf.d"',
                'ln -sf /dev/stdout "$1/var/log/nginx/access.log" && ln -sf /dev/stderr "$1/var/log/nginx/error.log"',
            ],
            changes=[
                f"ENV {PATH_ENV}",
                "EXPOSE 8080",
                "STOPSIGNAL SIGQUIT",
                "USER 101",
                'CMD ["nginx", "-g", "daemon off;"]',
            ],
        ),
    ]


def cache_dir() -> Path:
    return Path(os.environ.get("TAP_CONTAINER_CACHE", Path.home() / ".cache" / "tap-containers"))


def _image_exists(image: str) -> bool:
    return subprocess.run(["podman", "image", "exists", image], check=False).returncode == 0


def ensure(base: Base, log: list[str]) -> str:
    """Build (or reuse) one look-alike and return its image name."""
    image = base.image()
    if _image_exists(image):
        log.append(f"{base.name}: reused image {image}")
        return image
    tarball = cache_dir() / f"{base.name}-{base.recipe_hash()}.tar"
    start = time.monotonic()
    if not tarball.exists():
        tarball.parent.mkdir(parents=True, exist_ok=True)
        partial = tarball.with_suffix(".partial")
        cmd = [
            "mmdebstrap",
            "--quiet",
            "--variant=minbase",
            "--mode=root",
            "--format=tar",
            # merged /usr set up directly, as in the official Debian images (no usrmerge package, no perl).
            f"--hook-dir={MERGED_USR}",
            f"--include={','.join(base.packages)}",
            *[f"--dpkgopt={opt}" for opt in SLIM],
            *[f"--customize-hook={hook}" for hook in base.hooks],
            f"--customize-hook={CLEAN}",
            SUITE,
            str(partial),
            *MIRRORS,
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise SystemExit(f"mmdebstrap failed for {base.name}:\n{(result.stdout + result.stderr)[-4000:]}")
        partial.rename(tarball)
        log.append(f"{base.name}: mmdebstrap {time.monotonic() - start:.0f} s -> {tarball}")
    changes = [arg for change in base.changes for arg in ("--change", change)]
    subprocess.run(["podman", "import", "--quiet", *changes, str(tarball), image], check=True, stdout=subprocess.DEVNULL)
    log.append(f"{base.name}: imported {image}")
    _forget_older(base)
    return image


def _forget_older(base: Base) -> None:
    """Drop stand-ins of earlier recipes, so the cache stays one image and one tarball per base."""
    repo = base.image().rsplit(":", 1)[0]
    listed = subprocess.run(
        ["podman", "images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", f"reference={repo}"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    for old in listed:
        if old != base.image():
            subprocess.run(["podman", "rmi", "--force", old], capture_output=True, check=False)
    for old_tar in cache_dir().glob(f"{base.name}-*.tar"):
        if old_tar.name != f"{base.name}-{base.recipe_hash()}.tar":
            old_tar.unlink()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["python", "node", "nginx"], action="append", help="build only these")
    args = parser.parse_args()
    log: list[str] = []
    for base in bases():
        if args.only and base.name not in args.only:
            continue
        print(f"{base.arg}={ensure(base, log)}")
    print("\n".join(log), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
