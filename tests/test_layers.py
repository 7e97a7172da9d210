"""Imports run one way: each package imports only from the layers below it, never back up.

Layers, lowest first: the base modules and shared models; ``knowledge`` and ``traces``; ``store``
(it reads traces to extract files from them); ``fixes`` and ``llm``; ``analysis`` (its LLM analyser
drives a provider and checks edits with ``fixes``); ``pipeline``; ``verify`` (it replays a saved
analysis' fixes); ``web``; ``cli`` (``refinery ui`` starts the web page). Imports inside functions
count too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "refinery"
LAYERS = {
    **dict.fromkeys(("models", "config", "errors", "progress", "gcpause", "atomic"), 0),
    **dict.fromkeys(("knowledge", "traces"), 1),
    "redaction": 2,
    "store": 3,
    **dict.fromkeys(("fixes", "llm"), 4),
    "analysis": 5,
    "pipeline": 6,
    "verify": 7,
    "web": 8,
    "cli": 9,
}


def _package(module: Path) -> str:
    return module.relative_to(SRC).parts[0].removesuffix(".py")


def _imported(module: Path) -> set[str]:
    """The top-level refinery packages ``module`` imports, relative or absolute."""
    tree = ast.parse(module.read_text(encoding="utf-8"))
    depth = len(module.relative_to(SRC).parts) - 1
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            parts = module.relative_to(SRC).parts[: depth - node.level + 1]
            target = [*parts, *(node.module or "").split(".")]
            names = [a.name for a in node.names] if not target or not target[0] else []
            found.update([target[0]] if target and target[0] else names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("refinery."):
            found.add((node.module or "").split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("refinery."))
    return {name for name in found if name in LAYERS}


def test_every_module_imports_only_from_lower_layers() -> None:
    modules = [p for p in SRC.rglob("*.py") if p.relative_to(SRC).parts[0] != "__init__.py"]
    assert len(modules) > 100
    unknown = sorted({_package(m) for m in modules} - set(LAYERS))
    assert not unknown, f"packages without a layer: {unknown}"
    upward = [
        f"{module.relative_to(SRC)} imports {name}"
        for module in modules
        for name in sorted(_imported(module))
        if name != _package(module) and LAYERS[name] >= LAYERS[_package(module)]
    ]
    assert upward == []
