"""Exit codes of `mockbook`, named once."""

OK = 0
PARTIAL_FAILURE = 1  # something dead-lettered, or drift found
CHECK_FAILED = 1  # `webhooks check`: the intake did not accept the signed test delivery
CONFIG_ERROR = 2  # bad or missing configuration, unreachable database
# EX_IOERR (sysexits.h): the command's output could not be written (a full disk, an I/O error)
OUTPUT_ERROR = 74
# EX_TEMPFAIL (sysexits.h): try again later. Another `mockbook run` holds the lock, HubSpot or
# the database did not answer (down, a 5xx, a timeout, out of connections)
TEMPFAIL = 75
BUSY = TEMPFAIL
CLOSED_PIPE = 141  # stdout closed before the end (`| head`): 128 + SIGPIPE, as a shell reports


def stopped_by(signum: int) -> int:
    """The exit code of a command SIGTERM, SIGINT or SIGHUP stopped (glue.lifecycle): 128 + the
    signal's number (143, 130, 129), as a shell reports a process a signal ended. A service
    (worker, webhooks serve, sandbox) exits OK instead: a signal is its normal end."""
    return 128 + signum
