"""The error types users see. Each message is one sentence naming the bad value and the fix."""


def first_line(error: BaseException, limit: int = 160) -> str:
    """The first line of an exception's message, shortened for a one-line error ("" if it has none)."""
    text = str(error).strip()
    return text.splitlines()[0][:limit] if text else ""


class BenchmarkError(Exception):
    """Base class of every error the harness raises on purpose."""


class BenchmarkWarning(UserWarning):
    """Something the user should know that does not stop the work (the CLI prints it in one line)."""


class UserInputError(BenchmarkError, ValueError):
    """A name, spec, option or file given by the user is not valid."""


class UnknownNameError(UserInputError, KeyError):
    """A name that no registry holds."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


class DuplicateNameError(UserInputError):
    """A name registered twice (e.g. a plugin re-using a built-in strategy's name)."""


class DatasetNotFoundError(BenchmarkError, FileNotFoundError):
    """A dataset's files are not where any loader looked."""


class CorruptFileError(BenchmarkError):
    """A file exists but is truncated, malformed or tampered with."""


class BudgetExceededError(BenchmarkError):
    """A buffer stores more than its IPC budget allows."""

    def __init__(self, message: str, storage: float | None = None):
        super().__init__(message)
        self.storage = storage


class NonFiniteBufferError(BenchmarkError, ArithmeticError):
    """A strategy produced a buffer holding NaN or inf; it is recorded as failed, never saved."""

    def __init__(self, strategy: str, what: str):
        super().__init__(
            f"strategy {strategy!r} produced a buffer that is not finite: {what}; lower its learning "
            "rates in the spec, or report the strategy's bug"
        )


class DoesNotFitError(BenchmarkError):
    """A strategy cannot produce any buffer within the budget (decision 3)."""

    def __init__(self, message: str, numbers: dict | None = None):
        super().__init__(message)
        self.numbers = numbers or {}


class DistillationDivergedError(BenchmarkError, ArithmeticError):
    """The distillation loss became NaN or infinite (decision 10)."""

    def __init__(self, iteration: int, value: float):
        super().__init__(
            f"distillation diverged at iteration {iteration}: loss is {value}; "
            "lower the learning rates in the strategy spec (e.g. lr_img=...)"
        )
        self.iteration = iteration
