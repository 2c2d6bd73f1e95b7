"""`make pg-extensions`: pgTAP and plpgsql_check are looked for on the test
server (pg_available_extensions), not in this machine's Debian directories; the Debian packages
are installed only when the server lacks them and apt can provide them; otherwise one clear
message and exit 1. apt-get and apt-cache are replaced by stand-ins that log their arguments, so
nothing is installed by the tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "tests" / "pg_extensions.py"


@pytest.fixture()
def fake_apt(tmp_path: Path) -> tuple[Path, Path]:
    """(bin dir with logging apt-get / apt-cache stand-ins, their log). apt-cache knows a
    package only when it is named in $FAKE_APT_KNOWS."""
    bindir, log = tmp_path / "bin", tmp_path / "apt.log"
    bindir.mkdir()
    (bindir / "apt-get").write_text(f'#!/bin/sh\necho "apt-get $*" >> {log}\nexit 0\n')
    (bindir / "apt-cache").write_text(
        f'#!/bin/sh\necho "apt-cache $*" >> {log}\n'
        'case " $FAKE_APT_KNOWS " in *" $2 "*) exit 0;; esac\nexit 100\n'
    )
    for tool in bindir.iterdir():
        tool.chmod(0o755)
    return bindir, log


def env_with(bindir: Path, url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{bindir}:{os.path.dirname(sys.executable)}:{os.environ['PATH']}",
        "DATABASE_URL": url,
        **extra,
    }


def server_major(url: str) -> int:
    with psycopg.connect(url) as conn:
        return int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000


def test_make_asks_the_server_not_this_machines_debian_directory(
    database_url: str, fake_apt: tuple[Path, Path], tmp_path: Path
) -> None:
    """The server has both extensions while this machine's /usr/share/postgresql/<major> shows
    none (hidden by an empty directory mounted over it, in a private mount namespace): the
    server is what counts, nothing is installed. (The old check read that directory and ran
    apt-get install, which fails for majors Debian does not ship.)"""
    bindir, log = fake_apt
    major = server_major(database_url)
    empty = tmp_path / "empty"
    empty.mkdir()
    hidden = f"/usr/share/postgresql/{major}"
    unshare = ["unshare", "--mount"] + ([] if os.geteuid() == 0 else ["--map-root-user"])
    script = (
        f"mkdir -p {hidden} && mount --bind {empty} {hidden} && test -z \"$(ls {hidden})\" && "
        f"make -s -o venv pg-extensions PY={sys.executable}"
    )
    assert shutil.which("unshare"), "unshare (util-linux) is needed to hide the directory"
    result = subprocess.run(
        [*unshare, "sh", "-c", script],
        cwd=ROOT,
        env=env_with(bindir, database_url),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"PostgreSQL {major} server has pgtap " in result.stdout
    assert "plpgsql_check " in result.stdout
    assert not log.exists(), log.read_text()


def run_script(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_missing_on_the_server_and_not_in_apt_is_one_clear_message(
    database_url: str, fake_apt: tuple[Path, Path]
) -> None:
    bindir, log = fake_apt
    major = server_major(database_url)
    result = run_script(
        ["--require", "pgtap", "mockbook_no_such_extension"], env_with(bindir, database_url)
    )
    assert result.returncode == 1
    assert f"test server (PostgreSQL {major}) lacks mockbook_no_such_extension " in result.stderr
    assert f"postgresql-{major}-mockbook-no-such-extension" in result.stderr
    assert "Traceback" not in result.stderr
    calls = log.read_text() if log.exists() else ""
    assert " install " not in calls


def test_missing_on_the_server_is_installed_when_apt_has_it(
    database_url: str, fake_apt: tuple[Path, Path]
) -> None:
    """apt knows the package: it is installed (here: the stand-in logs the call), and the
    server is asked again: still missing (the stand-in installed nothing), which is said."""
    bindir, log = fake_apt
    major = server_major(database_url)
    pkg = f"postgresql-{major}-mockbook-no-such-extension"
    result = run_script(
        ["--require", "mockbook_no_such_extension"],
        env_with(bindir, database_url, FAKE_APT_KNOWS=pkg),
    )
    assert result.returncode == 1
    calls = log.read_text() if log.exists() else ""
    if os.geteuid() == 0:
        assert f"apt-get -o DPkg::Lock::Timeout=600 install -y -qq {pkg}" in calls
        assert "installed, but the server still does not list them" in result.stderr
    else:
        assert " install " not in calls and "(not root)" in result.stderr


def test_a_server_that_is_not_local_is_never_installed_for(
    database_url: str, fake_apt: tuple[Path, Path]
) -> None:
    """apt on this machine cannot add an extension to a server on another host."""
    bindir, log = fake_apt
    # The same server, reached by this machine's name (not one of the local host names).
    remote = psycopg.conninfo.make_conninfo(database_url, host=os.uname().nodename)
    psycopg.connect(remote, connect_timeout=3).close()
    major = server_major(database_url)
    pkg = f"postgresql-{major}-mockbook-no-such-extension"
    result = run_script(
        ["--require", "mockbook_no_such_extension"],
        env_with(bindir, remote, FAKE_APT_KNOWS=pkg),
    )
    assert result.returncode == 1
    assert "(the server is remote)" in result.stderr
    assert not log.exists()


def test_install_steps_run_apt_get_one_at_a_time(tmp_path: Path) -> None:
    """`make test` runs pg-extensions and pooler-tools at once; on a fresh machine both install
    packages, and a second apt-get beside the first fails on dpkg's lock. Every apt-get of those
    scripts goes through tests/apt_lock.py: four at once, from two processes, never overlap (the
    stand-in fails when it finds another one running)."""
    bindir, running, log = tmp_path / "bin", tmp_path / "running", tmp_path / "apt.log"
    bindir.mkdir()
    (bindir / "apt-get").write_text(
        f'#!/bin/sh\nmkdir {running} 2>/dev/null || {{ echo overlap >> {log}; exit 100; }}\n'
        f'echo "apt-get $*" >> {log}\nsleep 0.3\nrmdir {running}\n')
    (bindir / "apt-get").chmod(0o755)
    call = (f"import sys; sys.path.insert(0, {str(ROOT / 'tests')!r}); "
            "from apt_lock import apt_get; import concurrent.futures as f; "
            "codes = list(f.ThreadPoolExecutor(2).map(lambda _: apt_get('install', '-y', 'x')"
            ".returncode, range(2))); sys.exit(max(codes))")
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}",
           "MOCKBOOK_APT_LOCK": str(tmp_path / "apt.lock")}
    both = [subprocess.Popen([sys.executable, "-c", call], env=env) for _ in range(2)]
    assert [p.wait(timeout=60) for p in both] == [0, 0]
    lines = log.read_text().splitlines()
    assert "overlap" not in lines
    assert lines == ["apt-get -o DPkg::Lock::Timeout=600 install -y x"] * 4
