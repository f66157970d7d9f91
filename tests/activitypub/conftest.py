"""Fixtures for the protocol library's tests: a throwaway certificate authority."""

from __future__ import annotations

import pytest
import trustme


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    """A test CA for https peers on loopback (see peers.tls_server_context)."""
    return trustme.CA()
