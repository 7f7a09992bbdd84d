# migration-lint in a container: `docker run --rm -v "$PWD:/src" IMAGE prisma/migrations/`
FROM python:3.11-slim

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# git: `migration-lint review --diff BASE` compares with git; the mounted repository belongs to another user.
# DL3008: git is not pinned to a Debian package version on purpose: the versions of the base image's
# release change with its security updates, and a pin would break the build at the next one.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/* \
    && git config --system --add safe.directory '*'

WORKDIR /opt/migration-lint
COPY constraints.txt pyproject.toml README.md ./
COPY src ./src
# every dependency (and the build backend) at the exact version in constraints.txt.
# DL3013: the package is the local source tree; its dependencies are pinned by the constraints file.
# hadolint ignore=DL3013
RUN PIP_CONSTRAINT=/opt/migration-lint/constraints.txt pip install --no-cache-dir -c constraints.txt ".[github]" \
    && rm -rf /opt/migration-lint/src /opt/migration-lint/build

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin lint
# numeric: a host (or Kubernetes runAsNonRoot) can tell it is not root without the image's /etc/passwd
USER 10001
WORKDIR /src

ENTRYPOINT ["migration-lint"]
CMD ["--help"]
