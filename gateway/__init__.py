"""A self-hostable gateway that publishes to social platforms through plugins."""

from gateway.hookspecs import hookimpl

__all__ = ["__version__", "hookimpl"]
__version__ = "0.1.0"
