# syntax=docker/dockerfile:1
# ganserve, slim CPU image: the service and its runtime dependencies only (no torch, no training code),
# the models from models/ baked in at /models, running as an unprivileged user.
#
#   docker build -t ganserve:cpu .
#   docker run --rm -p 8000:8000 ganserve:cpu
#   docker run --rm -p 8000:8000 -v "$PWD/models:/models:ro" ganserve:cpu   # serve another model repository
#
# The GPU image is Dockerfile.gpu; the whole stack (replicas, nginx, Prometheus, Grafana) is docker-compose.yml.
#
# Without a registry or a package index (docs/deployment.md, "Offline builds"): any Debian or Ubuntu image with
# python3, python3-venv and `python` as PYTHON_IMAGE, the wheels in deploy/docker/wheels/, and no network:
#   docker build --network none --build-arg PYTHON_IMAGE=local/bookworm-python --build-arg PIP_NO_INDEX=1 -t ganserve:cpu .

# Any image with python (>= 3.11) and its venv module; the build and runtime stages must use the same one.
ARG PYTHON_IMAGE=python:3.12-slim-bookworm

# ---- build: a virtual environment with the service installed, copied whole into the runtime stage ----
FROM ${PYTHON_IMAGE} AS build
# PIP_NO_INDEX=1: install only from the wheels in deploy/docker/wheels/ (always searched, empty by default).
ARG PIP_NO_INDEX
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_FIND_LINKS=/src/deploy/docker/wheels
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first, from pyproject alone, so code edits do not invalidate this (slow) layer.
COPY pyproject.toml README.md LICENSE ./
COPY deploy/docker/requirements.py deploy/docker/requirements.py
COPY deploy/docker/wheels/ deploy/docker/wheels/
RUN python deploy/docker/requirements.py --cpu > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt
# Only the serving packages: training/ never enters the build context (see .dockerignore) nor the image.
COPY service/ service/
COPY ganserve/ ganserve/
RUN pip install --no-deps .
# Trim what serving never loads, about 85 MB (the container tier reports the image size): pip and setuptools
# (nothing is installed at run time); from onnxruntime, libonnxruntime.so (the C API library for other languages:
# the Python binding does not link it, as the import below proves) and its model tooling (transformers,
# quantization, tools: offline converters); the test suites inside packages (numpy's).
RUN python -m pip uninstall --yes --quiet pip setuptools \
 && cd /opt/venv/lib/python3*/site-packages/onnxruntime \
 && rm -rf capi/libonnxruntime.so* transformers quantization tools \
 && cd / \
 && find /opt/venv/lib/python3*/site-packages -depth -mindepth 2 -type d -name tests -exec rm -rf {} + \
 && python -c "import service, ganserve.cli, onnxruntime; onnxruntime.InferenceSession" \
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
