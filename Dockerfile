# syntax=docker/dockerfile:1
# ganserve, slim CPU image: the service and its runtime dependencies only (no torch, no training code),
# the models from models/ baked in at /models, running as an unprivileged user.
#
#   docker build -t ganserve:cpu .
#   docker run --rm -p 8000:8000 ganserve:cpu
#   docker run --rm -p 8000:8000 -v "$PWD/models:/models:ro" ganserve:cpu   # serve another model repository
#
# The GPU image is Dockerfile.gpu; the whole stack (replicas, nginx, Prometheus, Grafana) is docker-compose.yml.

ARG PYTHON_IMAGE=python:3.12-slim-bookworm

# ---- build: a virtual environment with the service installed, copied whole into the runtime stage ----
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first, from pyproject alone, so code edits do not invalidate this (slow) layer.
COPY pyproject.toml README.md LICENSE ./
COPY deploy/docker/requirements.py deploy/docker/requirements.py
RUN python deploy/docker/requirements.py --cpu > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt
# Only the serving packages: training/ never enters the build context (see .dockerignore) nor the image.
COPY service/ service/
COPY ganserve/ ganserve/
RUN pip install --no-deps . \
 && python -c "import service, ganserve.cli" \
 && ! python -c "import torch" 2>/dev/null

# ---- runtime ----
FROM ${PYTHON_IMAGE} AS runtime
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin ganserve
COPY --from=build /opt/venv /opt/venv
COPY deploy/docker/healthcheck.py /usr/local/bin/ganserve-healthcheck
# Owned by root and read-only for the service user: a compromised process cannot swap the models it serves.
COPY models/ /models/
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    GANSERVE_HOST=0.0.0.0 \
    GANSERVE_PORT=8000 \
    GANSERVE_MODELS_DIR=/models \
    GANSERVE_PROVIDER=cpu \
    GANSERVE_DRAIN_TIMEOUT_S=20
# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
EXPOSE 8000 8001
# The service drains on SIGTERM (not-ready, finish accepted requests, exit 0); give it longer than
# GANSERVE_DRAIN_TIMEOUT_S before the SIGKILL: `docker stop -t 30`, compose's stop_grace_period.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
    CMD ["python", "/usr/local/bin/ganserve-healthcheck"]
# Exec form: the service is PID 1 and receives SIGTERM itself (a shell would swallow it).
CMD ["ganserve", "serve"]
