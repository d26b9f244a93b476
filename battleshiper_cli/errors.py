"""Expected failures: each carries the one line the operator sees, a hint and the exit code.

Exit codes (also in `battleshiper --help` and docs/SETUP.md):
  0  success (update --diff: no changes)
  1  update --diff: changes pending; or the operator declined
  2  bad input, failed preflight check, missing credentials, throttling: nothing was changed
  3  an AWS operation failed part-way (stack rolled back, delete left resources)
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_CHANGES = 1
EXIT_DECLINED = 1
EXIT_USAGE = 2
EXIT_FAILED = 3

EXIT_CODES_HELP = (
    "Exit codes: 0 success; 1 changes pending (update --diff) or declined; "
    "2 bad input or failed preflight, nothing changed; 3 an AWS operation failed part-way."
)


class BattleshiperError(Exception):
    """An expected error: printed as one line (plus hint), never as a traceback."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, hint: str = "", exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(BattleshiperError):
    exit_code = EXIT_USAGE


class PreflightError(BattleshiperError):
    """One or more preflight checks failed; nothing was created."""

    exit_code = EXIT_USAGE

    def __init__(self, failed: list[tuple[str, str]]) -> None:
        names = ", ".join(name for name, _ in failed)
        super().__init__(
            f"preflight failed: {names}",
            hint="fix the checks marked ✗ above and run the command again; nothing was created",
        )
        self.failed = failed


class AwsError(BattleshiperError):
    """An AWS call failed before anything changed (credentials, throttling, access)."""

    exit_code = EXIT_USAGE


class OperationFailed(BattleshiperError):
    """An operation failed after it had started changing things."""

    exit_code = EXIT_FAILED


class Declined(BattleshiperError):
    exit_code = EXIT_DECLINED
