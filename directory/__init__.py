"""Hirondelle's application: settings, web app, storage, services, worker and CLI."""

__version__ = "0.1.0"
