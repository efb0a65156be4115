FROM python:3.11-slim

WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    GATEWAY_HOST=0.0.0.0 GATEWAY_PORT=8000 \
    GATEWAY_DATABASE_URL=sqlite:////data/gateway.db

COPY pyproject.toml README.md alembic.ini ./
COPY alembic ./alembic
COPY gateway ./gateway
RUN pip install --no-cache-dir -e . && mkdir -p /data

EXPOSE 8000
VOLUME ["/data"]
CMD ["gateway", "serve"]
