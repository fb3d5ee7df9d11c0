"""One error type for bad input: the message names the file (and tensor, line or sample) and what
is wrong, as the lab's errors do. The command line prints it without a traceback."""


class CtcLabError(Exception):
    pass
