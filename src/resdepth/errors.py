"""The errors resdepth raises for bad input.

Each message is one line that says what was wrong and how to fix it. The CLI
prints ``error: <message>`` and exits with status 2 instead of a traceback.
"""


class ResdepthError(Exception):
    """Base class: a problem the user can fix, described in one line."""


class ConfigError(ResdepthError, ValueError):
    """An invalid setting: unknown dataset or model, depth < 1, bad lambda, ..."""


class DataNotFoundError(ResdepthError, FileNotFoundError):
    """A dataset is not on disk and cannot be downloaded."""


class StoreError(ResdepthError, RuntimeError):
    """A results file or checkpoint that is corrupt, foreign, or from another config."""


class SweepError(ResdepthError, RuntimeError):
    """Some runs of a sweep failed on their workers; the runs that finished are stored."""
