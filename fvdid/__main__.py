"""``python -m fvdid``: the fvdid command line."""

from fvdid.cli import app

app(prog_name="fvdid")
