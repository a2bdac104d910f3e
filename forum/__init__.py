"""forum: discussions and working groups for regional public-sector programmes."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
