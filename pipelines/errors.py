"""One exception hierarchy. Messages say what, where, and what to do."""

from __future__ import annotations


class KundenOrbitError(Exception):
    """Base class: every error the product raises on purpose."""


class ExportFormatError(KundenOrbitError):
    """An export file cannot be read as any known export format."""

    def __init__(self, source_file: str, problem: str, fix: str = "") -> None:
        self.source_file = source_file
        self.problem = problem
        self.fix = fix
        msg = f"{source_file}: {problem}"
        if fix:
            msg += f" — {fix}"
        super().__init__(msg)


class PublishError(KundenOrbitError):
    """The warehouse could not be published; the previous file is untouched."""


class ConfigError(KundenOrbitError):
    """A setting (environment variable, config file) has an invalid value."""
