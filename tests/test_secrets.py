"""plaintext-secret never echoes a secret: not in messages, help, or the SQL the reports print."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migration_lint.cli import main
from migration_lint.facts.secrets import may_hold_secret

SECRETS = {
    "role password": "Tr0ub4dor&3-horse-battery-staple",
    "stripe key": "sk_live_51HxYzAbCdEfGhIjKlMnOpQr",
    "aws key id": "AKIAIOSFODNN7EXAMPLE",
    "token column": "a8F3kLq9Zx2Vb7Nm4Pw1Rt6Yu0Ei5Oc",
    "url password": "S3cretPassw0rd",
    "private key body": "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun",
}

# Statements chosen so that the reports also print their SQL: the UPDATE without WHERE is a
# MEDIUM-risk statement (its SQL is in the text report's risk lines and in the JSON report).
MIGRATION = f"""CREATE ROLE reporting LOGIN PASSWORD '{SECRETS["role password"]}';
UPDATE "Integration" SET "config" = '{SECRETS["stripe key"]}';
UPDATE "Integration" SET "awsKeyId" = '{SECRETS["aws key id"]}' WHERE "id" = 'i_1';
UPDATE "Integration" SET "accessToken" = '{SECRETS["token column"]}' WHERE "kind" = 'github';
INSERT INTO "Webhook" ("url") VALUES ('postgres://app:{SECRETS["url password"]}@db.internal:5432/app');
INSERT INTO keys (k) VALUES ('-----BEGIN RSA PRIVATE KEY-----
{SECRETS["private key body"]}
-----END RSA PRIVATE KEY-----');
"""


@pytest.fixture
def migration(tmp_path: Path) -> Path:
    path = tmp_path / "migrations" / "V1__seed_integrations.sql"
    path.parent.mkdir(parents=True)
    path.write_text(MIGRATION, encoding="utf-8")
    return path


def _run(argv: list[str], capsys) -> tuple[int, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out + err


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github"])
def test_no_output_format_echoes_a_secret(fmt, migration, capsys, tmp_path):
    report = tmp_path / f"report.{fmt}"
    code, printed = _run([str(migration), "--format", fmt, "--color", "never", "--output", str(report)], capsys)
    written = report.read_text(encoding="utf-8")
    assert code == 1, printed
    assert "plaintext-secret" in written, written
    for what, secret in SECRETS.items():
        assert secret not in written, f"{fmt} report echoes the {what}"
        assert secret not in printed, f"{fmt} console output echoes the {what}"


def test_every_secret_is_reported_masked(migration, capsys):
    code, printed = _run([str(migration), "--format", "json", "--select", "plaintext-secret"], capsys)
    data = json.loads(printed)
    findings = [f for f in data["files"][0]["findings"] if f["rule"] == "plaintext-secret"]
    assert [f["line"] for f in findings] == [1, 2, 3, 4, 5, 6]
    masked = ["`Tr0u****`", "`sk_l****`", "`AKIA****`", "`a8F3****`", "`S3****`", "`BEGIN RSA PRIVATE KEY ****`"]
    for finding, shown in zip(findings, masked):
        assert shown in finding["message"], finding["message"]
    statements = data["files"][0]["statements"]
    assert "Tr0u****" in statements[0]["sql"] and "'Tr0u" in statements[0]["sql"]


def test_stdin_is_masked_too(capsys, monkeypatch):
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(MIGRATION.encode())))
    code, printed = _run(["-", "--format", "json"], capsys)
    assert code == 1
    for what, secret in SECRETS.items():
        assert secret not in printed, f"stdin JSON report echoes the {what}"


def test_secrets_are_masked_even_when_the_rule_is_not_selected(tmp_path, capsys):
    from migration_lint.cli import main

    path = tmp_path / "001_create_role.sql"
    secret = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    path.write_text(f"CREATE INDEX i ON t (x);\nINSERT INTO settings (key, value) VALUES ('gh', '{secret}');\n")
    for fmt in ("text", "json", "sarif", "github"):
        main([str(path), "--format", fmt, "--ignore", "plaintext-secret"])
        out = capsys.readouterr().out
        assert secret not in out and secret[8:] not in out, fmt


# The first pass of the detector was this regex; the substring test that replaced it must agree.
_PREFILTER_SPEC = re.compile(
    r"(?i)passw|secret|token|credential|(?:api|private|access|signing)[_-]?key|PRIVATE KEY|AKIA|ASIA|gh[pousr]_"
    r"|github_pat_|[sr]k_(?:live|test)_|xox[abposr]-|AIza|://"
)
_HINT_PARTS = ["passw", "SECRET", "Token", "credential", "api_key", "Private-Key", "signingkey", "PRIVATE KEY", "akia",
               "ASIA", "ghp_", "GHS_", "github_pat_", "sk_live_", "RK_TEST_", "xoxb-", "aiza", "://", "key", "gh_",
               "k_live", "xox-", "api key", "pass", "_", "-", " ", "é", "\u0130", "\u212a", "ß"]


@settings(max_examples=3000, deadline=None, derandomize=True, database=None)
@given(st.lists(st.sampled_from(_HINT_PARTS) | st.text(max_size=4), max_size=8).map("".join))
def test_secret_prefilter_agrees_with_its_regex(text):
    assert may_hold_secret(text) == bool(_PREFILTER_SPEC.search(text))


def test_secret_prefilter_agrees_with_its_regex_on_the_corpus(corpus):
    for path in corpus.rglob("*.sql"):
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            assert may_hold_secret(text) == bool(_PREFILTER_SPEC.search(text)), path
