# syntax=docker/dockerfile:1
# One image for every component; the command picks it:
#   docker run IMAGE serve engine | serve connector monday | migrate | ...

FROM python:3.12-slim AS build
COPY --from=ghcr.io/astral-sh/uv:0.13 /uv /bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
WORKDIR /app
# Dependencies first: this layer is reused until uv.lock changes.
COPY pyproject.toml uv.lock ./
RUN uv sync --locked --no-dev --no-install-project
COPY README.md ./
COPY src ./src
COPY migrations ./migrations
COPY workflows ./workflows
RUN uv sync --locked --no-dev --no-editable

FROM python:3.12-slim
# --no-log-init: a high uid would otherwise grow sparse lastlog/faillog files.
RUN groupadd --gid 10001 dw \
    && useradd --uid 10001 --gid 10001 --no-log-init --create-home --home-dir /home/dw \
        --shell /usr/sbin/nologin dw
COPY --from=build /app/.venv /app/.venv
ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    DW_HOST=0.0.0.0 \
    DW_DATA_DIR=/home/dw/state
# Numeric, so that Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
USER 10001:10001
WORKDIR /home/dw
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('DW_PORT', '8080'), timeout=2)"]
ENTRYPOINT ["dataworkflows"]
CMD ["serve", "engine"]
