"""What the operator scripts share: expected errors become a message on stderr and an exit code."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Mapping
from typing import ParamSpec

P = ParamSpec("P")

# The exit codes every operator script shares; a script's own refusals use 3 and up.
EXIT_OK = 0
EXIT_AWS = 1
EXIT_INPUT = 2


class AwsError(Exception):
    """An AWS call failed (credentials, permissions, network). Exit code EXIT_AWS."""


class InputError(Exception):
    """Bad input: an argument, a file or a resource the command needs is missing or wrong. Exit code EXIT_INPUT."""


def exits_on(errors: Mapping[type[Exception], tuple[str, int]]) -> Callable[[Callable[P, int]], Callable[P, int]]:
    """Decorate a `main`: an error of a listed type prints `<label>: <message>` and returns its code.

    `errors` maps an exception type to (label, exit code); the first type the error is an
    instance of wins, so list subclasses before their bases. Other exceptions propagate.
    """

    def decorate(main: Callable[P, int]) -> Callable[P, int]:
        @functools.wraps(main)
        def run(*args: P.args, **kwargs: P.kwargs) -> int:
            try:
                return main(*args, **kwargs)
            except tuple(errors) as error:
                label, code = next(value for kind, value in errors.items() if isinstance(error, kind))
                print(f"{label}: {error}", file=sys.stderr)
                return code

        return run

    return decorate
