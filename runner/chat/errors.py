"""Errors of the local assistant; each message says what to do about it."""

from __future__ import annotations


class ChatError(Exception):
    """The assistant cannot start or go on; the message says what to change."""


class ConfigError(ChatError):
    """A config file or setting is wrong; the message names the file and the line."""
