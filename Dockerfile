# autocoder: the GitHub App server (`autocoder serve`), and the image the docker executor runs
# one session per container from.
#
#   docker build -t autocoder .
#   docker run -p 8000:8000 -v autocoder-data:/home/autocoder/.autocoder \
#     -e AUTOCODER_GITHUB_APP_ID -e AUTOCODER_GITHUB_PRIVATE_KEY -e AUTOCODER_WEBHOOK_SECRET \
#     -e ANTHROPIC_API_KEY autocoder
#
# No secret is baked into any layer: credentials come from the environment at run time.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# git for workspaces, bubblewrap for the command sandbox, CA certificates for HTTPS.
RUN apt-get update \
    && apt-get install -y --no-install-recommends git bubblewrap ca-certificates \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/autocoder
COPY pyproject.toml README.md requirements.lock ./
COPY autocoder ./autocoder
COPY app ./app
COPY runner ./runner
COPY action ./action
# Run-time dependencies at exactly the versions in requirements.lock (as the tests ran).
RUN pip install --no-compile --constraint requirements.lock . \
    && python -c "import app.session_main, autocoder.cli, runner.session"

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin autocoder
USER autocoder
WORKDIR /home/autocoder

EXPOSE 8000
ENTRYPOINT ["autocoder"]
CMD ["serve", "--host", "0.0.0.0"]
