"""Pure parts of the lookup service: how bulk-match id lists are split over connections."""

from __future__ import annotations

import pytest

from directory.services import lookup


@pytest.mark.parametrize(
    ("count", "sizes"),
    [
        (0, []),
        (1, [1]),
        (999, [999]),
        (1_500, [1_000, 500]),
        (5_000, [2_500, 2_500]),  # both connections work on a typical archive
        (20_000, [10_000, 10_000]),
        (25_001, [10_000, 10_000, 5_001]),
        (100_000, [10_000] * 10),
    ],
)
def test_split_for_match(count: int, sizes: list[int]) -> None:
    wanted = list(range(count))

    chunks = lookup.split_for_match(wanted)

    assert [len(chunk) for chunk in chunks] == sizes
    assert [x for chunk in chunks for x in chunk] == wanted
