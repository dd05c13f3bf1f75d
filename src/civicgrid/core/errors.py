"""Errors a service raises for the user to read; views turn them into messages, never 500s."""


class ApplicationError(Exception):
    """A business rule refused the request; `message` is shown to the user as is."""

    def __init__(self, message: str, *, extra: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}
