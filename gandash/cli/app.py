"""`python -m gandash app ...`: the dashboard, `streamlit run streamlit_app.py` with its arguments.

`main` hands everything after `app` to `start` before argparse parses anything: argparse would claim
Streamlit's --options (`--server.port 8502`) as its own and refuse them. The subparser is here only so
that `--help` lists the command.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def add_commands(commands) -> None:
    app = commands.add_parser("app", help="start the dashboard (streamlit run streamlit_app.py), warmed up")
    app.add_argument("streamlit_args", nargs=argparse.REMAINDER, help="passed on to streamlit run")
    app.set_defaults(func=lambda args: start(args.streamlit_args))


def start(streamlit_args: list[str]) -> int:
    """`streamlit run streamlit_app.py`, with torch and the pages' modules imported first: Streamlit
    imports nothing before the first visitor, who then waited ~3 s for torch on a 2-core CPU."""
    from streamlit.web import cli

    import gandash.core.device  # noqa: F401 - imports torch
    import gandash.ui.common  # noqa: F401 - imports streamlit's and the pages' shared helpers

    root = Path(__file__).resolve().parents[2]  # the project folder: gandash/cli/app.py is two levels down
    os.chdir(root)  # Streamlit reads .streamlit/config.toml (localhost only, ...) from the working folder
    return cli.main(["run", "streamlit_app.py", *streamlit_args], prog_name="streamlit", standalone_mode=False) or 0
