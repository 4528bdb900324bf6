"""autocoder: a Git-native coding agent.

This package is the composition root: the command line that wires `runner`, `app` and `action`
together. It imports them lazily, inside each subcommand, so nothing runs at import.
"""

__version__ = "0.1.0"
