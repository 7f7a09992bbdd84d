"""The unprivileged OS account the server runs as when the caller is root (PostgreSQL refuses root)."""

from __future__ import annotations

import grp
import pwd
import shutil
import subprocess
from pathlib import Path

from migration_lint.cli.trace.errors import PostgresUnavailable, tail

#: OS account used to run the server when the caller is root.
SERVICE_USER = "postgres"


def ensure_service_user() -> pwd.struct_passwd:
    """Return the unprivileged account to run the server as, creating it if needed."""
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        pass
    useradd = shutil.which("useradd")
    if useradd is None:
        raise PostgresUnavailable(
            f"PostgreSQL refuses to run as root, there is no {SERVICE_USER!r} OS user "
            "and useradd is not available to create one"
        )
    argv = [useradd, "--system", "--no-create-home", "--home-dir", "/nonexistent"]
    shell = "/usr/sbin/nologin" if Path("/usr/sbin/nologin").exists() else "/bin/false"
    argv += ["--shell", shell]
    try:
        grp.getgrnam(SERVICE_USER)
        argv += ["--gid", SERVICE_USER]
    except KeyError:
        argv += ["--user-group"]
    argv.append(SERVICE_USER)
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )
    if proc.returncode != 0:
        raise PostgresUnavailable(
            f"could not create the {SERVICE_USER!r} OS user to run PostgreSQL "
            f"(PostgreSQL refuses to run as root): {tail(proc.stdout + proc.stderr)}"
        )
    return pwd.getpwnam(SERVICE_USER)
