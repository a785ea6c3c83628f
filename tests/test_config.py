"""The app's limits and safety settings in .streamlit/config.toml (issue 7): an upload limit suited to
CSV files of runs, usage statistics off, XSRF protection on, listening locally.

Read twice: as TOML (the values written), and by Streamlit itself in a fresh process started in the
project folder (the names are ones Streamlit knows, and the project file is the one it uses).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from scalecore import data

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / ".streamlit" / "config.toml"

EXPECTED = {
    "server.maxUploadSize": 50,  # MB: a table of runs is KB to a few MB; uploads are held in server RAM
    "browser.gatherUsageStats": False,
    "server.enableXsrfProtection": True,
    "server.address": "127.0.0.1",
}


def test_config_file_sets_the_limits_and_safety_options():
    config = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    written = {f"{section}.{key}": value for section, options in config.items() for key, value in options.items()}
    for option, value in EXPECTED.items():
        assert option in written, f"{option} is not set in {CONFIG}"
        assert written[option] == value and type(written[option]) is type(value), (option, written[option])


def test_upload_limit_is_below_the_librarys_own_limit():
    """The app refuses a file before the library would: the library's limit (for the CLI and direct
    calls) is the backstop, and a file between the two never reaches the parser from the app."""
    limit_mb = tomllib.loads(CONFIG.read_text(encoding="utf-8"))["server"]["maxUploadSize"]
    assert 1 <= limit_mb * 1024 * 1024 <= data.MAX_FILE_BYTES
    assert limit_mb < 200  # Streamlit's default, meant for any file, not for CSVs of runs


def test_streamlit_reads_the_same_values_from_the_project_folder(tmp_path):
    code = ("import json; from streamlit import config; config.get_config_options(force_reparse=True); "
            f"print(json.dumps({{k: config.get_option(k) for k in {sorted(EXPECTED)!r}}}))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    env["HOME"] = str(tmp_path)  # no global ~/.streamlit/config.toml in the way
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == EXPECTED
