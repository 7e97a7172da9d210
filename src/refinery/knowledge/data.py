"""Reading the data files that ship in the package (knowledge base, model facts, price table).

One reader, with libyaml's C loader when PyYAML has it: the pure-Python loader spent about 0.6 s of
every analysis parsing these files.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def load_data(package: str, name: str) -> Any:
    """The parsed YAML file ``name`` of ``package`` (read once per process)."""
    text = files(package).joinpath(name).read_text(encoding="utf-8")
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader, chosen above
