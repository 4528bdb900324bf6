"""Reading the server's settings once, for `autocoder serve` and `autocoder worker` alike.

Both read the environment and `.env` the same way (strictly: a malformed line or an unknown
`AUTOCODER_*` name stops start-up, naming the file and line), validate every setting, and log
them with secrets masked, so a worker beside the server always runs with what the server runs.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from autocoder.commands.errors import settings_error_message

if TYPE_CHECKING:
    from app.config import ServeConfig


def load_serve_config(env_file: Path, log: logging.Logger) -> ServeConfig:
    """The validated settings, logged with their sources; `ClickException` saying what is wrong."""
    from pydantic import ValidationError

    from app.config import ServeConfig
    from app.env_file import EnvFileError

    try:
        config = ServeConfig.load(os.environ, env_file)
    except EnvFileError as error:
        raise click.ClickException(str(error)) from None
    except ValidationError as error:
        raise click.ClickException(settings_error_message(error)) from None
    source = f"the environment and {config.env_file}" if config.env_file else "the environment"
    log.info("settings (from %s):\n  %s", source, "\n  ".join(config.summary()))
    return config
