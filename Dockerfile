# migration-lint in a container: `docker run --rm -v "$PWD:/src" IMAGE prisma/migrations/`
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# git: `migration-lint review --diff BASE` compares with git; the mounted repository belongs to another user
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/* \
    && git config --system --add safe.directory '*'

WORKDIR /opt/migration-lint
COPY constraints.txt pyproject.toml README.md ./
COPY src ./src
# every dependency (and the build backend) at the exact version in constraints.txt
RUN PIP_CONSTRAINT=/opt/migration-lint/constraints.txt pip install ".[github]" \
    && rm -rf /opt/migration-lint/src /opt/migration-lint/build

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin lint
USER lint
WORKDIR /src

ENTRYPOINT ["migration-lint"]
CMD ["--help"]
