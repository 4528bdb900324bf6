"""`autocoder action`: run as a step of a GitHub Actions workflow (what `action.yml` calls)."""

from __future__ import annotations

import os
import sys

import click


@click.command("action")
def action_command() -> None:
    """Act on the workflow's triggering event, as the GitHub Action does.

    Reads the Actions run from GITHUB_EVENT_NAME, GITHUB_EVENT_PATH, GITHUB_REPOSITORY,
    GITHUB_API_URL, GITHUB_SERVER_URL, GITHUB_ACTOR and RUNNER_TEMP, and its settings from the
    same variables as `autocoder run` (GITHUB_TOKEN or AUTOCODER_GITHUB_APP_ID with
    AUTOCODER_GITHUB_PRIVATE_KEY; AUTOCODER_ENGINE, AUTOCODER_MODEL, ANTHROPIC_API_KEY, ...),
    plus AUTOCODER_TRIGGER_LABEL and AUTOCODER_ALLOWED_COMMANDS. An issue labelled with the
    trigger label, an `/autocoder` comment or a review on autocoder's pull request runs a
    session in this job. Writes the job summary (GITHUB_STEP_SUMMARY) and the step outputs
    (GITHUB_OUTPUT). Exits 0 on success, on no change needed and when there is nothing to do.
    """
    from action.main import run_action

    sys.exit(run_action(os.environ))
