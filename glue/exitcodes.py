"""Exit codes of `mockbook`, named once."""

OK = 0
PARTIAL_FAILURE = 1  # something dead-lettered, or drift found
CHECK_FAILED = 1  # `webhooks check`: the intake did not accept the signed test delivery
CONFIG_ERROR = 2  # bad or missing configuration, unreachable database
# EX_TEMPFAIL (sysexits.h): try again later. Another `mockbook run` holds the lock, HubSpot or
# the database did not answer (down, a 5xx, a timeout, out of connections)
TEMPFAIL = 75
BUSY = TEMPFAIL
CLOSED_PIPE = 141  # stdout closed before the end (`| head`): 128 + SIGPIPE, as a shell reports
