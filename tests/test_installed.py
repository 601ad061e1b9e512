"""The tests exercise the installed package, not the checkout's ``fsartifacts/`` beside them.

pytest runs with ``--import-mode=importlib``, so it puts no folder of the checkout on
``sys.path``: the package the tests import is the one a plain interpreter of this
environment imports (the site-packages copy under tox, the checkout with ``pip install -e``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import fsartifacts


def test_the_tests_import_the_package_this_environment_installed(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(
        [sys.executable, "-c", "import fsartifacts; print(fsartifacts.__file__)"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    installed = Path(out.stdout.strip()).resolve()
    assert Path(fsartifacts.__file__).resolve() == installed
