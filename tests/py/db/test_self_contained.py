"""The suite needs nothing outside the repository: the production dump and HubSpot's OpenAPI
specs are vendored (tests/fixtures/production/, glue/sandbox/openapi/, each with a README naming
its source and commit), and no test, tool or package module reads a folder beside the clone."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
# a path leaving the repository: ../shared, or parents[n] past the root joined with "shared"
OUTSIDE = re.compile(r"""\.\./shared|["']shared["']\s*/|/\s*["']shared["']""")


def test_no_code_reads_a_folder_beside_the_clone() -> None:
    files = subprocess.run(["git", "ls-files", "glue", "tests", "bench", "Makefile", ".ci"],
                           cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    offenders = [
        f"{name}:{n}" for name in files if name.endswith((".py", ".sql", ".sh", "Makefile", "run"))
        and name != "tests/py/db/test_self_contained.py"
        for n, line in enumerate((ROOT / name).read_text(errors="replace").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert offenders == []


def test_the_vendored_data_is_there_with_its_source() -> None:
    dump = ROOT / "tests" / "fixtures" / "production"
    specs = ROOT / "glue" / "sandbox" / "openapi"
    assert (dump / "hubspot_sync_schema.sql").stat().st_size > 10_000
    assert "869a38a1a0e2630821e58707624e1590575bc619" in (dump / "README.md").read_text()
    assert len(list(specs.glob("crm-*.json"))) == 6
    assert "99893791383254f52aa07662baeb98aad65cc710" in (specs / "README.md").read_text()
