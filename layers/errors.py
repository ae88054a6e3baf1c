"""The errors a layer build raises. Each message says what is wrong and, where it can, what to do;
the command line prints it after ``ERROR:`` and exits with status 1."""


class BuildError(Exception):
    """A layer cannot be built; the message says why."""


class ChecksumMismatchError(BuildError):
    """A file does not have the SHA-256 the lock file pins."""


class LockFileError(BuildError):
    """The lock file is missing or malformed."""
