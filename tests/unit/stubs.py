"""boto3 clients with botocore Stubbers for the tool tests: offline, and every stubbed call must be made."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import boto3
from botocore.stub import Stubber

from lib.contract import REGION


@contextlib.contextmanager
def stubbed_clients(*services: str) -> Iterator[tuple[list[Any], list[Stubber]]]:
    """A client and its Stubber per service; on exit, fails if a stubbed response was never asked for."""
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    clients = [session.client(service) for service in services]
    with contextlib.ExitStack() as stack:
        stubs = [stack.enter_context(Stubber(client)) for client in clients]
        yield clients, stubs
        # Every stubbed call was made: the tool read (and wrote) exactly what the test expects.
        for stub in stubs:
            stub.assert_no_pending_responses()
