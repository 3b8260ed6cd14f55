"""One module per `osqueue` subcommand, each defining `COMMAND` (see `osqueue_cli._registry`)."""
