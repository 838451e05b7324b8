"""`innotrial users add` prints the token once, on the last line; the token authenticates."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from innotrial.cli import cli
from portal_api.auth import hash_token, principal_from_token
from registry.db import open_registry
from registry.users import ApiToken


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("INNOTRIAL_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("INNOTRIAL_DATABASE_URL", raising=False)
    return tmp_path


def test_users_add_prints_token_last_and_stores_only_its_hash(data_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["users", "add", "carol", "--role", "provider",
                                      "--provider", "acme"])
    assert result.exit_code == 0, result.output
    token = result.output.splitlines()[-1]
    assert len(token) >= 43 and " " not in token
    assert result.output.count(token) == 1
    registry = open_registry(f"sqlite:///{data_dir / 'registry.db'}")
    with registry.session() as session:
        principal = principal_from_token(session, token)
        assert principal is not None
        assert (principal.name, principal.role, principal.provider_id) == ("carol", "provider", "acme")
        stored = [row.token_sha256 for row in session.query(ApiToken)]
        assert stored == [hash_token(token)]
    registry.close()
    listed = CliRunner().invoke(cli, ["users", "list"])
    assert "carol\tprovider\tacme" in listed.output


def test_revoked_token_no_longer_authenticates(data_dir: Path) -> None:
    token = CliRunner().invoke(cli, ["users", "add", "dan", "--role", "viewer"]).output.splitlines()[-1]
    assert "revoked 1 token(s) of dan" in CliRunner().invoke(cli, ["users", "revoke", "dan"]).output
    registry = open_registry(f"sqlite:///{data_dir / 'registry.db'}")
    with registry.session() as session:
        assert principal_from_token(session, token) is None
    registry.close()


@pytest.mark.parametrize(("args", "message"), [
    (["users", "add", "x", "--role", "boss"], "unknown role 'boss'"),
    (["users", "add", "x", "--role", "provider"], "--provider PROVIDER_ID is required"),
    (["users", "add", "x", "--role", "viewer", "--provider", "p"], "--provider is only for role provider"),
])
def test_user_mistakes_are_one_line_and_exit_2(data_dir: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert message in str(result.exception) or message in result.output


def test_duplicate_user_is_refused(data_dir: Path) -> None:
    CliRunner().invoke(cli, ["users", "add", "eve", "--role", "viewer"])
    result = CliRunner().invoke(cli, ["users", "add", "eve", "--role", "viewer"])
    assert result.exit_code != 0
    assert "already exists" in str(result.exception) + result.output
