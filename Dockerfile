# One image for every process type (migrate, worker, beat, flower); compose.yaml picks the command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN useradd --create-home --uid 10001 app
WORKDIR /app

COPY pyproject.toml README.md ./
COPY worker ./worker
COPY engine_hooks ./engine_hooks
COPY migrations ./migrations
COPY flowerconfig.py Procfile ./
RUN pip install . && mkdir -p /data && chown app /data

USER app
# Celery workers stop gracefully on SIGTERM (warm, then soft shutdown); give them time.
STOPSIGNAL SIGTERM
