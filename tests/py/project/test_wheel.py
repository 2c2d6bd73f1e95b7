"""The package a server installs: `uv build` (as `python -m build`) makes an sdist and, from it,
a wheel that carries db/ and alembic.ini; installed into a venv outside the repository, its
`mockbook migrate` takes an empty database to head from the SQL inside the wheel, not from this
checkout.

The venv gets the wheel alone (--no-deps); its dependencies come from this test's own venv,
whose site-packages a .pth file adds as a plain path (so the checkout's editable install there
is not loaded), which keeps the test offline and fast."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import psycopg
import pytest

from glue.db import migrations

ROOT = Path(__file__).resolve().parents[3]
TIMEOUT = 300


def uv() -> str:
    """uv, as `make venv` installs it (beside this Python, else on PATH)."""
    found = shutil.which("uv", path=os.path.dirname(sys.executable)) or shutil.which("uv")
    if not found:
        pytest.fail("uv is not installed (`make venv` installs it into .venv)")
    return found


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None):
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=TIMEOUT)


def uv_offline_first(*args: str | Path, cwd: Path) -> None:
    """A uv command from its cache (no network), else with the network where there is one."""
    done = run(uv(), *args, "--offline", cwd=cwd)
    if done.returncode != 0:
        done = run(uv(), *args, cwd=cwd)
    assert done.returncode == 0, done.stderr[-3000:]


def clean_copy(to: Path) -> Path:
    """The files of a fresh clone with this checkout's changes: tracked and untracked files git
    does not ignore (a build in the checkout itself would reuse its mockbook.egg-info, whose
    SOURCES.txt lists what an earlier build packed)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (to / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, to / name)
    return to


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = clean_copy(tmp_path_factory.mktemp("source"))
    dist = tmp_path_factory.mktemp("dist")
    uv_offline_first("build", "--quiet", "--out-dir", dist, source, cwd=dist)
    wheels = list(dist.glob("mockbook-*.whl"))
    assert len(wheels) == 1 and list(dist.glob("mockbook-*.tar.gz")), sorted(dist.iterdir())
    return wheels[0]


def test_the_wheel_carries_every_file_of_db_and_the_license(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"glue/_data/db/{p.relative_to(ROOT / 'db').as_posix()}"
                for p in (ROOT / "db").rglob("*")
                if p.is_file() and "__pycache__" not in p.parts}
    assert not expected - names, sorted(expected - names)[:10]
    assert {"glue/_data/alembic.ini", "glue/_data/db/migrations/revisions.lock",
            "glue/_data/db/migrations/frozen.json", "glue/_data/db/migrations/env.py"} <= names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


@pytest.mark.slow
def test_mockbook_migrate_from_the_installed_wheel(
        wheel: Path, tmp_path: Path, fresh_database) -> None:
    venv = tmp_path / "venv"
    uv_offline_first("venv", "--quiet", "--python", sys.executable, venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    uv_offline_first("pip", "install", "--quiet", "--no-deps", "--python", python, wheel,
                     cwd=tmp_path)
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                    cwd=tmp_path).stdout.strip())
    (site / "_mockbook_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "DATABASE_URL")}
    where = run(python, "-c", "import glue.db.source as s; print(s.ROOT)", cwd=tmp_path, env=env)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()) == site / "glue" / "_data"

    url = fresh_database("wheel")
    done = run(venv / "bin" / "mockbook", "migrate", cwd=tmp_path,
               env={**env, "DATABASE_URL": url})
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"empty -> {migrations.head()}" in done.stdout
    with psycopg.connect(url) as conn:
        version = conn.execute("SELECT version_num FROM mockbook.alembic_version").fetchall()
    assert version == [(migrations.head(),)]
