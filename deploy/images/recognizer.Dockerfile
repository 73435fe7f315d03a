# syntax=docker/dockerfile:1
# Image for the recognizer: torch and torchvision on CPU, and the CRNN weights shipped in the package.
# Build from the repository root:
#   docker build -f deploy/images/recognizer.Dockerfile -t registry.example.org/alpr/recognizer:0.1.0 .
# torch comes from PyTorch's CPU-only wheel index by default (plain pip on linux/amd64 would fetch the CUDA
# builds, gigabytes the recognizer never uses); a mirror of it:  --build-arg TORCH_INDEX_URL=<CPU wheel index>
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/alpr
COPY pyproject.toml deploy/images/split_requirements.py ./
# torch first (the pins come from pyproject.toml: torch==2.14.1, torchvision==0.29.1), then the rest.
RUN python split_requirements.py --torch > torch.txt \
    && python split_requirements.py > requirements.txt \
    && /opt/alpr/bin/pip install --index-url "$TORCH_INDEX_URL" -r torch.txt \
    && /opt/alpr/bin/pip install -r requirements.txt
COPY libs ./libs
COPY services ./services
RUN /opt/alpr/bin/pip install --no-deps .

FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 alpr \
    && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
       --shell /usr/sbin/nologin alpr
COPY --from=build /opt/alpr /opt/alpr
# Read-only root filesystem: caches (HOME, torch's) go to the /tmp volume; one thread pool per pod,
# sized by the CPU limit rather than the node's core count.
ENV PATH=/opt/alpr/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HOME=/tmp \
    TORCH_HOME=/tmp/torch OMP_NUM_THREADS=2 \
    ALPR_HTTP_HOST=0.0.0.0 ALPR_HTTP_PORT=8000
USER 10001:10001
EXPOSE 8000
ENTRYPOINT ["alpr"]
CMD ["serve", "recognizer"]
