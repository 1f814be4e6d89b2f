"""CLI command modules, discovered by `opsradar.cli`.

Each module defines `register(app, eval_app)` and adds its commands (or sub-apps) there,
so areas of the product extend the CLI without editing cli.py.
"""
