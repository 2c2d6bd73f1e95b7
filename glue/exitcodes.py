"""Exit codes of `mockbook`, named once."""

OK = 0
PARTIAL_FAILURE = 1  # something dead-lettered, or drift found
CHECK_FAILED = 1  # `webhooks check`: the intake did not accept the signed test delivery
CONFIG_ERROR = 2  # bad or missing configuration, unreachable database
BUSY = 75  # another `mockbook run` holds the lock (EX_TEMPFAIL)
