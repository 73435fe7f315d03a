# syntax=docker/dockerfile:1
# Image for gateway, records, audit and sharing, and for `alpr migrate`: everything but torch.
# Build from the repository root:
#   docker build -f deploy/images/services.Dockerfile -t registry.example.org/alpr/services:0.1.0 .
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/alpr
COPY pyproject.toml deploy/images/split_requirements.py ./
# Dependencies first, in their own layer, so a code change does not reinstall them. torch and
# torchvision are left out: only services.recognizer imports them, and they are most of the size. The
# `local` extra (PostgreSQL and nats-server binaries for `alpr up`) is not installed: the cluster runs both.
RUN python split_requirements.py > requirements.txt \
    && /opt/alpr/bin/pip install -r requirements.txt
COPY libs ./libs
COPY services ./services
RUN /opt/alpr/bin/pip install --no-deps .

FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 alpr \
    && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
       --shell /usr/sbin/nologin alpr
# Same path as in the build stage, so the console scripts' shebangs stay valid.
COPY --from=build /opt/alpr /opt/alpr
# The root filesystem is read-only in the cluster: no bytecode caches; HOME points at the /tmp volume.
ENV PATH=/opt/alpr/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HOME=/tmp \
    ALPR_HTTP_HOST=0.0.0.0 ALPR_HTTP_PORT=8000
USER 10001:10001
EXPOSE 8000
ENTRYPOINT ["alpr"]
CMD ["serve", "gateway"]
