"""Offline stand-ins the tests share: boto3 clients with botocore Stubbers (every stubbed call must be made),
and the poll interval of the local HTTP servers that stand in for endpoints."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any

import boto3
from botocore.stub import Stubber

from lib.contract import REGION

# serve_forever's poll interval: shutdown() waits up to one interval for the loop to notice (default 0.5 s).
SERVER_POLL_SECONDS = 0.01


@functools.cache
def _session() -> boto3.session.Session:
    """One session per test process: it loads botocore's endpoint and model files once, not per client."""
    return boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)


def client(service: str) -> Any:
    """A new client of `service` (its own Stubber state), offline credentials, the platform's region."""
    return _session().client(service)


# The services whose reused client has an active Stubber now (nesting two on one client would mix their queues).
_in_use: set[str] = set()


@functools.cache
def _reused_client(service: str) -> Any:
    """One client per service and process for `stubbed_clients`: making a client costs about 10 ms (the service
    model), and a Stubber's queue lives in the Stubber, which `stubbed_clients` always deactivates on exit."""
    return client(service)


@contextlib.contextmanager
def stubbed_clients(*services: str) -> Iterator[tuple[list[Any], list[Stubber]]]:
    """A client and its Stubber per service; on exit, fails if a stubbed response was never asked for."""
    if len(set(services)) != len(services) or _in_use & set(services):
        raise ValueError(f"one Stubber per client: {services} names a service twice, or one already stubbed ({_in_use})")
    clients = [_reused_client(service) for service in services]
    _in_use.update(services)
    with contextlib.ExitStack() as stack:
        stubs = [stack.enter_context(Stubber(client)) for client in clients]
        try:
            yield clients, stubs
            # Every stubbed call was made: the tool read (and wrote) exactly what the test expects.
            for stub in stubs:
                stub.assert_no_pending_responses()
        finally:
            _in_use.difference_update(services)
