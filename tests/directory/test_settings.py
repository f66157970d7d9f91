"""Settings: defaults, and a clear message for every malformed value."""

from __future__ import annotations

from pathlib import Path

import pytest

from directory.settings import SettingsError, load_settings


def test_defaults() -> None:
    settings = load_settings({})
    assert settings.database_url is None
    assert settings.domain == "localhost:8000"
    assert settings.host == "127.0.0.1"
    assert settings.port == 8000
    assert settings.log_level == "info"
    assert settings.data_dir == Path("./data").absolute()
    assert settings.embedded_pgdata == settings.data_dir / "pg"
    assert settings.cache_entries == 50_000


def test_values_are_read() -> None:
    settings = load_settings(
        {
            "DATABASE_URL": "postgresql://u@db/h",
            "HIRONDELLE_DOMAIN": "Dir.Example.ORG",
            "HIRONDELLE_DATA_DIR": "/var/lib/hirondelle",
            "HIRONDELLE_HOST": "0.0.0.0",
            "HIRONDELLE_PORT": "9000",
            "HIRONDELLE_LOG_LEVEL": "DEBUG",
            "HIRONDELLE_MAX_BODY_BYTES": "1048576",
            "HIRONDELLE_CACHE_ENTRIES": "0",
        }
    )
    assert settings.database_url == "postgresql://u@db/h"
    assert settings.domain == "dir.example.org"
    assert settings.data_dir == Path("/var/lib/hirondelle")
    assert (settings.host, settings.port, settings.log_level) == ("0.0.0.0", 9000, "debug")
    assert settings.max_body_bytes == 1048576
    assert settings.cache_entries == 0


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DATABASE_URL", "mysql://x", "must start with postgresql://"),
        ("HIRONDELLE_DOMAIN", "not a domain", "is not a host name"),
        ("HIRONDELLE_DOMAIN", "https://dir.example", "is not a host name"),
        ("HIRONDELLE_PORT", "eighty", "must be a whole number"),
        ("HIRONDELLE_PORT", "70000", "between 1 and 65535"),
        ("HIRONDELLE_LOG_LEVEL", "loud", "must be one of"),
        ("HIRONDELLE_MAX_BODY_BYTES", "10", "between 1024"),
        ("HIRONDELLE_HOST", "not a host!", "must be an IP address"),
        ("HIRONDELLE_HOST", "example.org:80", "must be an IP address"),
        ("HIRONDELLE_DB_POOL_SIZE", "1", "between 2 and 1000"),
        ("HIRONDELLE_CACHE_ENTRIES", "-1", "between 0 and 10000000"),
        ("HIRONDELLE_CACHE_ENTRIES", "lots", "must be a whole number"),
    ],
)
def test_bad_values__name_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message) as raised:
        load_settings({name: value})
    assert name in str(raised.value)


def test_empty_values_mean_the_default() -> None:
    names = [
        "DATABASE_URL",
        "HIRONDELLE_DOMAIN",
        "HIRONDELLE_DATA_DIR",
        "HIRONDELLE_HOST",
        "HIRONDELLE_PORT",
        "HIRONDELLE_LOG_LEVEL",
        "HIRONDELLE_MAX_BODY_BYTES",
        "HIRONDELLE_DB_POOL_SIZE",
        "HIRONDELLE_FORWARDED_ALLOW_IPS",
        "HIRONDELLE_CACHE_ENTRIES",
    ]
    assert load_settings(dict.fromkeys(names, " ")) == load_settings({})


def test_host_accepts_addresses_and_names() -> None:
    for host in ("0.0.0.0", "::", "::1", "localhost", "web.internal"):
        assert load_settings({"HIRONDELLE_HOST": host}).host == host
