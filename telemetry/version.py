"""The package version, kept in the kernel so that every layer can report it."""

__version__ = "0.1.0"
