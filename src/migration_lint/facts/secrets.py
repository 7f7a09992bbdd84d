"""Secrets in migrations: detection (for the plaintext-secret rule) and masking (for every report)."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

from migration_lint.model import Statement
from migration_lint.syntax import ast

# Well-known credential formats: (description, pattern); group "s" (or the whole match) is the secret.
_FORMATS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a private key", re.compile(
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?P<s>[\s\S]*?)(?:-----END [A-Z0-9 ]*-----|$)")),
    ("an AWS access key id", re.compile(r"(?<![A-Z0-9])(?P<s>(?:AKIA|ASIA)[0-9A-Z]{16})(?![A-Z0-9])")),
    ("a GitHub token", re.compile(r"(?<![A-Za-z0-9_])(?P<s>gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})")),
    ("a Stripe secret key", re.compile(r"(?<![A-Za-z0-9_])(?P<s>[sr]k_(?:live|test)_[A-Za-z0-9]{16,})")),
    ("a Slack token", re.compile(r"(?<![A-Za-z0-9_])(?P<s>xox[abposr]-[A-Za-z0-9-]{10,})")),
    ("a Google API key", re.compile(r"(?<![A-Za-z0-9_])(?P<s>AIza[0-9A-Za-z_-]{35})(?![0-9A-Za-z_-])")),
    ("a password in a connection URL", re.compile(
        r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:(?P<s>[^/\s@'\"]+)@[^\s'\"]")),
    ("a password in a connection string", re.compile(
        r"(?i)^(?=.*\b(?:host|hostaddr|dbname|user)\s*=\s*\w)(?:.*\s)?password\s*=\s*(?P<s>[^\s;'\"()|]+)")),
)
_PLACEHOLDER = re.compile(r"^(?:\$\{.*\}|\{\{.*\}\}|<.*>|:.*|%.*|\*+|x+|password|passwd|pass|secret|changeme|\?)$", re.I)
#: column names whose values are credentials (compared without `_` and case)
_SECRET_SUFFIXES = ("password", "passwd", "secret", "token", "apikey", "privatekey", "accesskey", "secretkey",
                    "passwordhash", "credential", "credentials", "signingkey", "webhooksecret")
_NOT_SECRET_SUFFIXES = ("at", "id", "type", "method", "count", "url", "name", "length", "enabled", "expires",
                        "expiry", "hint", "policy", "required", "version", "prefix", "last4", "lastfour")


def redact_text(text: str) -> str:
    """Mask every well-known secret format in a text (for rules that quote SQL in their messages)."""
    for _, pattern in _FORMATS:
        for match in list(pattern.finditer(text)):
            secret = match.group("s")
            if secret and secret.strip() and not _PLACEHOLDER.match(secret.strip()):
                text = text.replace(secret, mask(secret))
    return text


def mask(secret: str) -> str:
    """The first characters of a secret and `****` (none shown for short secrets)."""
    secret = secret.strip()
    shown = 4 if len(secret) >= 16 else 2 if len(secret) >= 8 else 0
    return secret[:shown] + "****"


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _secret_column(name: str) -> bool:
    flat = name.replace("_", "").replace("-", "").lower()
    if any(flat.endswith(suffix) for suffix in _NOT_SECRET_SUFFIXES) and not flat.endswith(_SECRET_SUFFIXES):
        return False
    return flat.endswith(_SECRET_SUFFIXES) or flat.startswith(("hashedpassword", "encryptedpassword"))


def _password_kind(value: str) -> str:
    if value.startswith("SCRAM-SHA-256$") or re.fullmatch(r"md5[0-9a-f]{32}", value):
        return "a password hash (still a credential: an md5 hash logs in as is, a SCRAM verifier can be attacked offline)"
    if re.fullmatch(r"\$2[abxy]?\$\d\d\$[./A-Za-z0-9]{53}|\$argon2\w*\$.+|\$[156]\$.+", value):
        return "a password hash (it reveals the password to an offline attack, and often guards a default account)"
    return "a plaintext password"


def _strings(node: Any) -> Iterator[tuple[str, Any]]:
    """Every string constant below a node, with the node to anchor a finding on."""
    stack: list[tuple[Any, Any]] = [(node, None)]
    while stack:
        value, anchor = stack.pop()
        if isinstance(value, dict):
            loc = value.get("location")
            here = value if isinstance(loc, int) and loc >= 0 else anchor
            for child in value.values():
                # every string of the tree: constants (sval), but also COMMENT text, enum labels, NOTIFY
                # payloads, COPY/LOAD file names, connection strings… (identifiers are harmless here)
                if isinstance(child, str):
                    if len(child) >= 8:
                        yield child, here
                elif isinstance(child, (dict, list)):
                    stack.append((child, here))
        elif isinstance(value, list):
            stack.extend((child, anchor) for child in reversed(value))


def _const_string(node: Any) -> tuple[str | None, Any]:
    kind, value = ast.unwrap(node)
    while kind == "TypeCast":  # a loop, not recursion: casts can be nested thousands deep
        node = value.get("arg")
        kind, value = ast.unwrap(node)
    if kind == "A_Const":
        sval = value.get("sval")
        if isinstance(sval, dict) and isinstance(sval.get("sval"), str):
            return sval["sval"], node
    return None, None


def _column_values(stmt: Statement) -> Iterator[tuple[str, str, Any]]:
    """(column, string value, anchor) assigned by an INSERT … VALUES or an UPDATE … SET."""
    node = stmt.node
    targets = []
    if stmt.node_type == "InsertStmt":
        cols = [ast.inner(c).get("name") for c in node.get("cols") or ()]
        select = ast.inner(node.get("selectStmt") or {})
        for row in select.get("valuesLists") or ():
            for position, item in enumerate(ast.inner(row).get("items") or ()):
                if position < len(cols) and cols[position]:
                    targets.append((cols[position], item))
        conflict = node.get("onConflictClause") or {}
        for item in conflict.get("targetList") or ():
            target = ast.inner(item)
            targets.append((target.get("name"), target.get("val")))
    elif stmt.node_type == "UpdateStmt":
        for item in node.get("targetList") or ():
            target = ast.inner(item)
            targets.append((target.get("name"), target.get("val")))
    for column, value_node in targets:
        value, anchor = _const_string(value_node)
        if column and value is not None:
            yield column, value, anchor


def _role_passwords(stmt: Statement) -> Iterator[tuple[Any, str, str]]:
    node = stmt.node
    if stmt.node_type in ("CreateRoleStmt", "AlterRoleStmt"):
        role = node.get("role")
        name = role if isinstance(role, str) else (role or {}).get("rolename", "?")
        for item in node.get("options") or ():
            option = ast.inner(item)
            if option.get("defname") != "password":
                continue
            value = ast.inner(option.get("arg") or {}).get("sval") if option.get("arg") else None
            if not value or _PLACEHOLDER.match(value.strip()):
                continue
            verb = "CREATE" if stmt.node_type == "CreateRoleStmt" else "ALTER"
            yield (option, f"{verb} ROLE {ast.quote_ident(name)} sets {_password_kind(value)} (`{mask(value)}`)",
                   value)
    elif stmt.node_type in ("CreateUserMappingStmt", "AlterUserMappingStmt"):
        for item in node.get("options") or ():
            option = ast.inner(item)
            if option.get("defname") == "password":
                value = ast.inner(option.get("arg") or {}).get("sval")
                if value and not _PLACEHOLDER.match(value.strip()):
                    yield option, f"{stmt.kind} sets a plaintext password (`{mask(value)}`)", value



# Every secret this module recognises needs one of these in the statement's text (case-insensitive): a
# cheap first pass. Plain substring tests of the lowercased text: seven times faster than one regex of
# alternatives (tests/test_secrets.py checks that both agree).
_HINTS = (
    ("passw", "secret", "token", "credential", "private key", "akia", "asia", "github_pat_", "aiza", "://")
    + tuple(f"gh{c}_" for c in "pousr")
    + tuple(f"{a}k_{b}_" for a in "sr" for b in ("live", "test"))
    + tuple(f"xox{c}-" for c in "abposr")
    + tuple(f"{a}{sep}key" for a in ("api", "private", "access", "signing") for sep in ("", "_", "-"))
)


def may_hold_secret(text: str) -> bool:
    """False when no recognised secret can be in the text."""
    low = text.lower()
    return any(hint in low for hint in _HINTS)


def detect(stmt: Statement) -> list[tuple[Any, str, str]]:
    """The secrets in one statement: (anchor node, message with the masked secret, the secret).

    Computed once per statement (the rule and the report masking both ask).
    """
    cached = stmt.__dict__.get("_secrets")
    if cached is not None:
        return cached
    found = _detect(stmt) if may_hold_secret(stmt.sql) else []
    stmt.__dict__["_secrets"] = found
    return found


def _detect(stmt: Statement) -> list[tuple[Any, str, str]]:
    found: list[tuple[Any, str, str]] = []  # (anchor, message, secret)
    seen: set[str] = set()
    for anchor, message, secret in _role_passwords(stmt):
        found.append((anchor, message, secret))
        seen.add(secret)
    for value, anchor in _strings(stmt.node):
        for description, pattern in _FORMATS:
            for match in pattern.finditer(value):
                secret = match.group("s")
                if not secret or not secret.strip() or secret in seen or _PLACEHOLDER.match(secret.strip()):
                    continue
                if any(secret in other for other in seen):
                    continue
                seen.add(secret)
                shown = mask(secret) if description != "a private key" else match.group(0).split("-----")[1] + " ****"
                found.append((anchor, f"{_statement_name(stmt)} contains {description} (`{shown}`)", secret))
    for column, value, anchor in _column_values(stmt):
        if not _secret_column(column) or any(secret in value for secret in seen):
            continue
        text = value.strip()
        if not text or _PLACEHOLDER.match(text):
            continue
        password = "password" in column.lower() or "passwd" in column.lower()
        if password:
            if len(text) < 8:
                continue
            what = _password_kind(text)
        elif len(text) < 16 or " " in text or _entropy(text) < 3.0:
            continue
        else:
            what = "a credential"
        found.append((anchor, f"{_statement_name(stmt)} writes {what} (`{mask(text)}`) into column "
                              f"{ast.quote_ident(column)}", text))
        seen.add(value)
    return found


def scrub(statements: list[Statement], findings: list) -> None:
    """Mask every secret found in the statements, in their SQL and in every finding's message and help.

    Runs whatever rules are selected: no report shows a secret that the detector recognises.
    """
    secrets: list[str] = []
    for stmt in statements:
        for _, _, secret in detect(stmt):
            _redact(stmt, secret)
            secrets.append(secret)
    if not secrets:
        return
    for finding in findings:
        for secret in secrets:
            for form in {secret, secret.replace("'", "''"), secret.strip()}:
                if form and form in finding.message:
                    finding.message = finding.message.replace(form, mask(form))
                if form and form in finding.help:
                    finding.help = finding.help.replace(form, mask(form))


def _statement_name(stmt: Statement) -> str:
    relation = stmt.node.get("relation")
    if stmt.node_type in ("InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt") and isinstance(relation, dict):
        verb = {"InsertStmt": "INSERT INTO", "UpdateStmt": "UPDATE", "DeleteStmt": "DELETE FROM",
                "MergeStmt": "MERGE INTO"}[stmt.node_type]
        return f"{verb} {ast.quote_qualified(ast.relation_name(relation))}"
    return stmt.kind


def _redact(stmt: Statement, secret: str) -> None:
    """Mask the secret in the statement's SQL (same length, so positions do not move) for the reports.

    The JSON report and the text report's risky-statement lines print statement SQL.
    """
    sql = stmt.sql
    for form in {secret, secret.replace("'", "''"), secret.strip()}:
        if form and form in sql:
            shown = len(mask(form)) - 4
            sql = sql.replace(form, form[:shown] + re.sub(r"[^\r\n]", "*", form[shown:]))
    stmt.sql = sql
