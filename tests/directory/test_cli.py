"""The `hirondelle` command: each subcommand, its messages and its exit statuses."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import asyncpg
import orjson
import pytest

from directory.cli import main
from directory.migrate import load_migrations
from directory.services import entries
from tests import postgres

HEADER = "x_account_id,x_handle,display_name,fediverse,bluesky\n"
GOOD = (
    HEADER
    + "12,jack,Jack Dorsey,@jack@mastodon.test,jack.bsky.test\n"
    + "1234567890123456789,Elodie_M,Élodie Martin,elodie@piaille.test,\n"
    + '783214,x_corp,"Corp, Inc.",,xcorp.bsky.test\n'
)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_dsn: str, tmp_path: Path) -> str:
    monkeypatch.setenv("DATABASE_URL", database_dsn)
    monkeypatch.setenv("HIRONDELLE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("HIRONDELLE_LOG_LEVEL", raising=False)
    return database_dsn


async def cli(argv: list[str]) -> int:
    """Run the command in a thread: it starts its own event loop, as it does in a shell."""
    return await asyncio.to_thread(main, argv)


def _csv(tmp_path: Path, text: str | bytes, name: str = "members.csv") -> str:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return str(path)


async def _count(dsn: str, sql: str = "SELECT count(*) FROM entries") -> int:
    conn = await asyncpg.connect(dsn)
    try:
        value: int = await conn.fetchval(sql)
        return value
    finally:
        await conn.close()


async def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert await cli(["version"]) == 0
    assert capsys.readouterr().out.startswith("hirondelle 0.")


def test_help__every_command(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--help"], ["entries", "--help"], ["entries", "import", "--help"]):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 0
    assert "--partial" in capsys.readouterr().out


def test_unknown_command__usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["fly"])
    assert exited.value.code == 2


async def test_import__good_file(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await cli(["entries", "import", _csv(tmp_path, GOOD)]) == 0
    captured = capsys.readouterr()
    assert "imported 3 new and 0 updated entries" in captured.out
    assert "rows read: 3" in captured.err  # progress lines go to standard error
    assert await _count(env, "SELECT count(*) FROM entries WHERE status = 'published'") == 3
    assert await _count(env, "SELECT count(*) FROM accounts WHERE proof_method = 'vouched'") == 4
    assert await _count(env, "SELECT count(*) FROM proofs WHERE method = 'vouched'") == 3
    assert (
        await _count(env, "SELECT count(*) FROM consents WHERE source = 'organisation'") == 6
    )  # listed + public, for 3 people
    assert await _count(env, "SELECT count(*) FROM entries WHERE consent_findable") == 0


async def test_import__consents_chosen_by_the_organisation(env: str, tmp_path: Path) -> None:
    argv = ["entries", "import", _csv(tmp_path, GOOD), "--consent", "listed,findable,federated"]
    assert await cli(argv) == 0
    assert await _count(env, "SELECT count(*) FROM entries WHERE consent_findable") == 3
    assert await _count(env, "SELECT count(*) FROM entries WHERE consent_public") == 0


@pytest.mark.parametrize(
    ("consent", "message"),
    [("public", "must include 'listed'"), ("listed,fame", "unknown purpose(s) fame")],
)
async def test_import__bad_consent_option(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], consent: str, message: str
) -> None:
    assert await cli(["entries", "import", _csv(tmp_path, GOOD), "--consent", consent]) == 1
    assert message in capsys.readouterr().err
    assert await _count(env) == 0


BAD_ROWS = (
    HEADER
    + "12,jack,Jack,@jack@mastodon.test,\n"  # 2: good
    + "abc,bad_id,Bad,@b@m.test,\n"  # 3
    + "13,sixteen_chars_xx,Long,@l@m.test,\n"  # 4
    + "14,zero\u200bwidth,Zero,@z@m.test,\n"  # 5
    + "15,nobody,Nobody,,\n"  # 6: no new account
    + "16,badfedi,Bad,not-a-handle,\n"  # 7
    + "12,again,Again,@a@m.test,\n"  # 8: duplicate X id of line 2
    + "17,JACK,Jack again,@j2@m.test,\n"  # 9: duplicate handle of line 2
    + "18,toofew,Few\n"  # 10: wrong field count
    + "\n"  # 11: blank lines are skipped
    + "19,goodtoo,Good Too,,good.bsky.test\n"  # 12: good
)


async def test_import__bad_rows_reported_and_nothing_written(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _csv(tmp_path, BAD_ROWS)
    assert await cli(["entries", "import", path]) == 1
    err = capsys.readouterr().err
    for line, reason in [
        (3, "not an X account id"),
        (4, "not an X handle"),
        (5, "not an X handle"),
        (6, "give a fediverse or a Bluesky handle"),
        (7, "not a handle like @name@server.example"),
        (8, "already on line 2"),
        (9, "already on line 2"),
        (10, "expected 5 fields, found 3"),
    ]:
        reported = [text for text in err.splitlines() if text.startswith(f"{path}:{line}: ")]
        assert len(reported) == 1, line
        assert reason in reported[0], (line, reported)
    assert f"{path}:2:" not in err
    assert f"{path}:12:" not in err
    assert "nothing imported: 8 row(s) refused" in err
    assert await _count(env) == 0


async def test_import__partial_keeps_the_good_rows(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await cli(["entries", "import", _csv(tmp_path, BAD_ROWS), "--partial"]) == 0
    assert "imported 2 new and 0 updated entries; 8 row(s) refused" in capsys.readouterr().out
    assert await _count(env) == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"\n\n  \n", "the file is empty"),
        (b"name,handle\n1,a\n", "line 1: the header must name the columns"),
        (
            (HEADER + "12,jack,Jos\xe9,@j@m.test,\n").encode("latin-1"),
            "line 2: the file is not UTF-8 (byte 0xe9)",
        ),
        (b"\xff\xfe" + HEADER.encode("utf-16-le"), "line 1: the file is not UTF-8"),
        (
            (HEADER + '12,jack,"unterminated,@j@m.test,\n').encode(),
            "malformed CSV",
        ),
    ],
)
async def test_import__unreadable_files(
    env: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: bytes,
    message: str,
) -> None:
    status = await cli(["entries", "import", _csv(tmp_path, content)])
    assert status == 1
    assert message in capsys.readouterr().err
    assert await _count(env) == 0


async def test_import__header_only(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await cli(["entries", "import", _csv(tmp_path, HEADER)]) == 0
    assert "imported 0 new" in capsys.readouterr().out


async def test_import__bom_and_crlf(env: str, tmp_path: Path) -> None:
    data = ("\ufeff" + GOOD).replace("\n", "\r\n").encode()
    assert await cli(["entries", "import", _csv(tmp_path, data)]) == 0
    assert await _count(env) == 3


async def test_import__missing_file(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await cli(["entries", "import", str(tmp_path / "nope.csv")]) == 1
    assert "cannot read" in capsys.readouterr().err


async def test_import__existing_entries_need_update(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await cli(["entries", "import", _csv(tmp_path, GOOD)]) == 0
    changed = HEADER + "12,jack_new,Jack D.,@jack@mastodon.test,jack2.bsky.test\n"
    path = _csv(tmp_path, changed, "changed.csv")
    assert await cli(["entries", "import", path]) == 1
    assert "already in the directory (published); use --update" in capsys.readouterr().err
    assert await cli(["entries", "import", path, "--update"]) == 0
    assert "imported 0 new and 1 updated" in capsys.readouterr().out
    assert await _count(env, "SELECT count(*) FROM entries WHERE x_handle = 'jack_new'") == 1
    # the new Bluesky account is added, not made primary over the first one
    assert (
        await _count(env, "SELECT count(*) FROM accounts WHERE handle LIKE 'jack%bsky.test'") == 2
    )
    assert (
        await _count(
            env,
            "SELECT count(*) FROM accounts WHERE is_primary AND network = 'bluesky'"
            " AND handle = 'jack.bsky.test'",
        )
        == 1
    )


async def test_import__never_relists_someone_who_withdrew(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _csv(tmp_path, GOOD)
    assert await cli(["entries", "import", path]) == 0
    assert await cli(["entries", "withdraw", "@jack"]) == 0
    capsys.readouterr()
    for extra in ([], ["--update"], ["--partial"]):
        status = await cli(["entries", "import", path, "--update", *extra])
        err = capsys.readouterr().err
        assert f"{path}:2: this person withdrew from the directory on" in err
        assert status == (0 if "--partial" in extra else 1)
    assert (
        await _count(
            env, "SELECT count(*) FROM entries WHERE x_account_id = 12 AND status <> 'withdrawn'"
        )
        == 0
    )


async def test_import__handle_taken_by_another_x_account(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await cli(["entries", "import", _csv(tmp_path, GOOD)]) == 0
    clash = HEADER + "99,JACK,Someone else,@else@m.test,\n"
    assert await cli(["entries", "import", _csv(tmp_path, clash, "clash.csv")]) == 1
    assert "belongs to another entry (X id 12)" in capsys.readouterr().err


async def test_list_show_withdraw_export(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await cli(["entries", "import", _csv(tmp_path, GOOD)]) == 0
    capsys.readouterr()
    assert await cli(["entries", "list"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert len(listing) == 3
    assert "\t@jack\tpublished\t" in listing[0]
    assert await cli(["entries", "show", "@JACK"]) == 0
    shown = capsys.readouterr().out
    assert "@jack (Jack Dorsey), X account 12" in shown
    assert "consent listed: granted" in shown
    assert await cli(["entries", "show", "1234567890123456789", "--json"]) == 0
    document = orjson.loads(capsys.readouterr().out)
    assert document["entry"]["x_account_id"] == "1234567890123456789"
    assert await cli(["entries", "withdraw", "12"]) == 0
    assert "only a tombstone remains" in capsys.readouterr().out
    assert await cli(["entries", "withdraw", "12"]) == 1
    assert "already withdrawn" in capsys.readouterr().err
    assert await cli(["entries", "list", "--status", "withdrawn"]) == 0
    assert capsys.readouterr().out.count("\n") == 1
    out = tmp_path / "export.jsonl"
    assert await cli(["export", "-o", str(out)]) == 0
    lines = [orjson.loads(line) for line in out.read_text().splitlines()]
    assert [line["type"] for line in lines] == ["tombstone", "entry", "entry"]
    assert lines[0] == {
        "type": "tombstone",
        "x_account_id": "12",
        "created_at": lines[0]["created_at"],
        "withdrawn_at": lines[0]["withdrawn_at"],
    }
    assert lines[1]["consents"] == {"listed": True, "public": True}
    assert lines[1]["x_account_id"] == "1234567890123456789"


async def test_show__unknown_and_malformed(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert await cli(["entries", "show", "@ghost"]) == 1
    assert "no entry for '@ghost'" in capsys.readouterr().err
    assert await cli(["entries", "show", "@not valid"]) == 1
    assert "is not an X handle" in capsys.readouterr().err


async def test_list__bad_limit(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert await cli(["entries", "list", "--limit", "0"]) == 1
    assert "--limit must be between" in capsys.readouterr().err


async def test_migrate__fresh_then_current(
    server_dsn: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    name = await postgres.fresh_empty_database(server_dsn)
    monkeypatch.setenv("DATABASE_URL", postgres.with_database(server_dsn, name))
    try:
        assert await cli(["migrate"]) == 0
        applied = capsys.readouterr().out
        every = load_migrations()
        names = ", ".join(m.name for m in every)
        assert f"applied {len(every)} migration(s): {names}" in applied
        assert await cli(["migrate"]) == 0
        assert "schema is current" in capsys.readouterr().out
    finally:
        await postgres.drop_database(server_dsn, name)


async def test_commands_refuse_an_unmigrated_database(
    server_dsn: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    name = await postgres.fresh_empty_database(server_dsn)
    monkeypatch.setenv("DATABASE_URL", postgres.with_database(server_dsn, name))
    try:
        assert await cli(["entries", "list"]) == 1
        assert "run `hirondelle migrate`" in capsys.readouterr().err
        assert await cli(["serve"]) == 1
        assert "run `hirondelle migrate`" in capsys.readouterr().err
    finally:
        await postgres.drop_database(server_dsn, name)


async def test_unreachable_database__message_not_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    assert await cli(["entries", "list"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("hirondelle: error: cannot reach the server in DATABASE_URL")
    assert "Traceback" not in err


async def test_bad_setting__exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HIRONDELLE_PORT", "http")
    assert await cli(["entries", "list"]) == 2
    assert "HIRONDELLE_PORT='http' must be a whole number" in capsys.readouterr().err


async def test_import__many_rows(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given 20,000 rows; When imported; Then all are published with their accounts.
    rows = "".join(f"{1000 + i},user_{i},User {i},@user{i}@m.test,\n" for i in range(20_000))
    assert await cli(["entries", "import", _csv(tmp_path, HEADER + rows)]) == 0
    assert (
        await _count(
            env, "SELECT count(*) FROM entries WHERE status = 'published' AND doc IS NOT NULL"
        )
        == 20_000
    )
    assert await _count(env, "SELECT count(*) FROM accounts") == 20_000
    doc = await _count(
        env, "SELECT count(*) FROM entries WHERE doc::text LIKE '%user19999@m.test%'"
    )
    assert doc == 1


async def test_import__update_keeps_the_persons_own_choices(
    env: str, pool: asyncpg.Pool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a person who registered themselves and has not consented to be public or listed
    pending = await entries.create_entry(
        pool, x_account_id="12", x_handle="jack", display_name="Jack"
    )
    # When the organisation imports them with --update
    assert await cli(["entries", "import", _csv(tmp_path, GOOD), "--update"]) == 0
    assert "imported 2 new and 1 updated" in capsys.readouterr().out
    # Then the entry is vouched for and linked, but neither published nor given consents
    entry = await entries.get_entry(pool, pending.id)
    assert entry.status.value == "pending"
    assert entry.consents == frozenset()
    assert entry.x_proof_level == 1
    assert {a.handle for a in entry.accounts} == {"jack@mastodon.test", "jack.bsky.test"}
    assert await _count(env, "SELECT count(*) FROM consents WHERE source = 'organisation'") == 4


async def test_import__file_errors_and_clashes_reported_together(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await cli(["entries", "import", _csv(tmp_path, GOOD)]) == 0
    capsys.readouterr()
    mixed = HEADER + "12,jack,Jack,@jack@mastodon.test,\n" + "abc,bad,Bad,@b@m.test,\n"
    path = _csv(tmp_path, mixed, "mixed.csv")
    assert await cli(["entries", "import", path]) == 1
    err = capsys.readouterr().err
    assert f"{path}:2: this X account is already in the directory" in err
    assert f"{path}:3: 'abc' is not an X account id" in err


async def test_embedded_default__every_command_migrates_first(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given no DATABASE_URL and a fresh data directory
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("HIRONDELLE_DATA_DIR", str(tmp_path / "data"))
    os.chmod(tmp_path, 0o755)  # noqa: S103  (as root, the server runs as its own system user)
    # When the first command is an import, Then it creates, migrates and uses the database
    assert await cli(["entries", "import", _csv(tmp_path, GOOD)]) == 0
    assert "imported 3 new" in capsys.readouterr().out
    assert await cli(["entries", "list"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3
    # And leaves no server running behind it
    assert not (tmp_path / "data" / "pg" / "postmaster.pid").exists()
