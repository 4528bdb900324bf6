# autocoder: the GitHub App server (`autocoder serve`), and the image the docker executor runs
# one session per container from.
#
#   docker build -t autocoder .
#   docker run -p 8000:8000 -v autocoder-data:/home/autocoder/.autocoder \
#     -e AUTOCODER_GITHUB_APP_ID -e AUTOCODER_GITHUB_PRIVATE_KEY -e AUTOCODER_WEBHOOK_SECRET \
#     -e ANTHROPIC_API_KEY autocoder
#
# BASE names the base image: the official Python image for users; any Debian bookworm image
# works too (its python3 is 3.11), e.g. one made with debootstrap where no registry is reachable
# (.ci/podman-setup.sh). PIP_CERT optionally names a CA bundle that pip uses during the build
# (mounted by the builder, never copied into a layer).
#
# No secret is baked into any layer: credentials come from the environment at run time.
ARG BASE=python:3.11-slim
FROM ${BASE}

ARG PIP_CERT=
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/autocoder/venv/bin:$PATH

# git for workspaces, bubblewrap for the command sandbox, CA certificates for HTTPS; python3 and
# its venv module from Debian when the base has no Python of its own.
RUN set -eu; \
    packages="git bubblewrap ca-certificates"; \
    command -v python3 >/dev/null || packages="$packages python3 python3-venv"; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $packages; \
    rm -rf /var/lib/apt/lists/*

# The run-time dependencies at exactly the versions in requirements.lock (as the tests ran), in a
# virtualenv of their own, in a layer that changes only when pyproject.toml or the lock does;
# compiled to bytecode here, since a session cannot write it at run time (each would recompile).
WORKDIR /opt/autocoder
COPY pyproject.toml requirements.lock ./
RUN python3 -m venv /opt/autocoder/venv \
    && python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" > dependencies.txt \
    && pip install ${PIP_CERT:+--cert "$PIP_CERT"} --constraint requirements.lock -r dependencies.txt

COPY README.md ./
COPY autocoder ./autocoder
COPY app ./app
COPY runner ./runner
COPY action ./action
RUN pip install --no-deps ${PIP_CERT:+--cert "$PIP_CERT"} --constraint requirements.lock . \
    && pip check \
    && python -c "import app.main, autocoder.cli, runner.session"

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin autocoder
USER autocoder
WORKDIR /home/autocoder

EXPOSE 8000
ENTRYPOINT ["autocoder"]
CMD ["serve", "--host", "0.0.0.0"]
