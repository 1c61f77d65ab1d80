"""The `bot` command line. One module per command group; `app.py` wires them together."""
