"""The package's exceptions. The extension raises these (by name) for the library's errors."""


class V2gError(Exception):
    """Base class of the errors v2g raises itself."""


class InputError(V2gError, ValueError):
    """A fleet, grid, scenario or parameter breaks a rule of docs/model.md.

    The message is the one the CLI prints after ``v2g: error:``: file, line, column and
    column name where there is one, then the rule broken.
    """


class OptimumError(V2gError, RuntimeError):
    """The ``optimal`` policy's linear program could not be solved (docs/model.md §10.2):
    the solver stopped at its iteration limit (scenario ``[optimal] max_iterations``), failed,
    or trades in both directions remained after the last program. The message is the CLI's
    (``the optimal schedule (policy optimal): …``); nothing is written."""


class LedgerError(V2gError):
    """The ledger failed a check while a run was recording it."""


class Stopped(V2gError):
    """A run was stopped before its end (by its progress callback)."""
