"""Errors that services raise with a message meant for the reader."""


class ServiceError(Exception):
    """A rule said no: the message says why, and nothing was changed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ServiceError):
    """The thing asked for does not exist (or is not the reader's): pages answer 404."""


class TooManyAttempts(ServiceError):
    """Too many failed attempts lately: pages answer 429."""
