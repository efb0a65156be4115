# syntax=docker/dockerfile:1
# Two stages: the first builds the virtual environment (compilers and caches stay behind),
# the second runs it as an unprivileged user with a health check on /healthz.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/gateway
WORKDIR /app
COPY pyproject.toml README.md ./
COPY gateway ./gateway
# The package is installed in place (editable): migrations are found next to it, in /app/alembic.
RUN /opt/gateway/bin/pip install -e .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin gateway \
    && mkdir -p /data && chown gateway:gateway /data
COPY --from=build /opt/gateway /opt/gateway
WORKDIR /app
COPY --from=build /app ./
COPY alembic.ini ./
COPY alembic ./alembic
ENV PATH=/opt/gateway/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    GATEWAY_HOST=0.0.0.0 GATEWAY_PORT=8000 \
    GATEWAY_DATABASE_URL=sqlite:////data/gateway.db \
    GATEWAY_SPOOL_DIR=/data/spool
USER gateway
EXPOSE 8000
VOLUME ["/data"]
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('GATEWAY_PORT', '8000'), timeout=2)"]
CMD ["gateway", "serve"]
