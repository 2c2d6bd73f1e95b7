"""The wheel carries the SQL a server migrates with: db/ and alembic.ini, copied into the package
as glue/_data/ (glue/db/source.py finds them there, or beside glue/ in a checkout). Everything
else about the package is declared in pyproject.toml."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
# What a server needs to run `mockbook migrate`: db/ whole (every revision, its frozen SQL, the
# lock), and alembic.ini, whose script_location is relative to itself.
DATA = ("db", "alembic.ini")
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc")


class BuildPyWithData(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads db/ from the checkout itself
        target = Path(self.build_lib) / "glue" / "_data"
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for name in DATA:
            source = HERE / name
            if source.is_dir():
                shutil.copytree(source, target / name, ignore=SKIP)
            else:
                shutil.copy2(source, target / name)


setup(cmdclass={"build_py": BuildPyWithData})
