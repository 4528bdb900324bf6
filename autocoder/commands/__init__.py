"""One module per `autocoder` subcommand."""
