"""Which modules a statement imports, run in a fresh interpreter (start-up cost checks)."""

from __future__ import annotations

import json
import subprocess
import sys


def loaded_by(statement: str, modules: set[str]) -> set[str]:
    """The ones of `modules` in sys.modules after `statement` runs in a new Python."""
    code = f"import sys, json; {statement}; print(json.dumps(sorted(set(sys.modules))))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return modules & set(json.loads(out.strip().splitlines()[-1]))
