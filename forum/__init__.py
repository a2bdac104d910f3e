"""forum: discussions and working groups for regional public-sector programmes.

ROOT is where the templates/, static/ and schema.sql live: inside the installed package when
the forum was installed from a wheel (the wheel carries them as forum/templates and so on),
else the repository root (a source tree or an editable install, where they stay at the top).
"""
from importlib.resources import files
from pathlib import Path


def _data_root() -> Path:
    package = files(__name__)
    # A zipped install would give a Traversable, not a Path; FileSystemLoader and add_static
    # need real directories, so only a plain directory counts as "installed".
    if isinstance(package, Path) and (package / "schema.sql").is_file() and (package / "templates").is_dir():
        return package.resolve()
    return Path(__file__).resolve().parent.parent


ROOT = _data_root()
