"""One module per ``hipimu`` subcommand.

Each module defines ``register(subparsers)``, which adds its parser and sets
``func`` (called with the parsed arguments, returns the exit code). ``hipimu.app.cli``
discovers the modules here, so adding a command is adding a file.
"""
