"""NodeInfo: discovery links and 2.0/2.1 documents shaped as the schemas require."""

from __future__ import annotations

from typing import Any

import pytest

from activitypub import nodeinfo

SOFTWARE: dict[str, Any] = {
    "software_name": "hirondelle",
    "software_version": "0.1.0",
    "repository": "https://example.org/hirondelle.git",
    "homepage": "https://example.org/hirondelle",
    "users_total": 42,
    "open_registrations": True,
    "metadata": {"nodeName": "Hirondelle CNRS"},
}


def test_well_known__links_both_versions() -> None:
    assert nodeinfo.well_known("https://dir.example/") == {
        "links": [
            {
                "rel": "http://nodeinfo.diaspora.software/ns/schema/2.0",
                "href": "https://dir.example/nodeinfo/2.0",
            },
            {
                "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
                "href": "https://dir.example/nodeinfo/2.1",
            },
        ]
    }


def test_build__2_0() -> None:
    assert nodeinfo.build("2.0", **SOFTWARE) == {
        "version": "2.0",
        "software": {"name": "hirondelle", "version": "0.1.0"},
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": True,
        "usage": {"users": {"total": 42}},
        "metadata": {"nodeName": "Hirondelle CNRS"},
    }


def test_build__2_1_adds_repository_and_homepage() -> None:
    document = nodeinfo.build("2.1", **SOFTWARE, users_active_month=7, users_active_halfyear=9)
    assert document["version"] == "2.1"
    assert document["software"] == {
        "name": "hirondelle",
        "version": "0.1.0",
        "repository": "https://example.org/hirondelle.git",
        "homepage": "https://example.org/hirondelle",
    }
    assert document["usage"] == {"users": {"total": 42, "activeMonth": 7, "activeHalfyear": 9}}


@pytest.mark.parametrize("name", ["Hirondelle", "hirondelle app", "", "hirondelle_2"])
def test_build__software_name_follows_schema(name: str) -> None:
    with pytest.raises(ValueError, match="software name"):
        nodeinfo.build("2.1", **{**SOFTWARE, "software_name": name})


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("2.0", 'application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.0#"'),
        ("2.1", 'application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.1#"'),
    ],
)
def test_content_type(version: nodeinfo.Version, expected: str) -> None:
    assert nodeinfo.content_type(version) == expected
