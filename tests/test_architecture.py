"""The layers of docs/architecture.md, kept honest: no module imports from a layer above its own.

Imports are read from the source (lazy imports inside functions and type-only imports count too),
so a new upward import fails here before it tangles the code.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Lowest first. A module may import its own layer and the ones before it, never one after.
LAYERS: list[tuple[str, ...]] = [
    ("setting_errors", "settings", "settings_remote", "errors"),  # configuration and the error vocabulary
    ("db",),  # tables, sessions, migrations: the record
    ("prompts", "render", "storage", "trace_files"),  # what a video says, drawing it, keeping files
    ("jobs",),  # job state: the recorder (every write), leases, the reader
    ("traces", "providers.base"),  # trace merging; what every tier returns
    ("remote",),  # the Videos API protocol and its paid-submission ledger
    ("providers",),  # the tiers, by name
    ("fallback_chain",),  # walking the tiers for one job
    ("messages", "celery_app", "embedded_broker", "quiet_polls", "startup", "settings_report"),  # broker wiring
    ("ops",),  # reconciler, operator commands, overview
    ("tasks",),  # the thin Celery task
    (
        "engine_hooks",
        "cli",
        "web",
        "demo",
        "demo_report",
        "preview",
        "verify_urls",
        "worker_process",
        "flower_policy",
    ),  # entry points
]


def layer_of(module: str) -> int | None:
    """The layer index of a project module, or None for third-party modules and the `worker` package itself
    (whose __init__ only exposes the Celery app for `celery -A worker`)."""
    parts = module.split(".")
    if parts[0] == "engine_hooks":
        name = "engine_hooks"
    elif parts[0] == "worker" and len(parts) > 1:
        name = "providers.base" if parts[1:3] == ["providers", "base"] else parts[1]
    else:
        return None
    for index, names in enumerate(LAYERS):
        if name in names:
            return index
    raise AssertionError(f"{module} is in no layer of tests/test_architecture.py (and docs/architecture.md)")


def project_modules() -> dict[str, Path]:
    paths = [*(ROOT / "worker").rglob("*.py"), *(ROOT / "engine_hooks").rglob("*.py")]
    return {".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): path for path in paths}


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def upward_imports() -> list[str]:
    problems = []
    for module, path in sorted(project_modules().items()):
        own = layer_of(module)
        if own is None:
            continue
        for imported in sorted(imports_of(path)):
            target = layer_of(imported)
            if target is not None and target > own:
                problems.append(f"{module} (layer {own}) imports {imported} (layer {target})")
    return problems


def test_no_module_imports_from_a_layer_above_its_own():
    assert upward_imports() == []


def test_the_check_sees_an_upward_import(monkeypatch):
    """The check itself can fail: a job-state module importing the remote ledger is caught."""
    real = imports_of
    monkeypatch.setattr(
        sys.modules[__name__],
        "imports_of",
        lambda path: real(path) | ({"worker.remote.ledger"} if path.name == "recorder.py" else set()),
    )
    assert upward_imports() == ["worker.jobs.recorder (layer 3) imports worker.remote.ledger (layer 5)"]


def test_every_project_module_has_a_layer():
    for module in project_modules():
        layer_of(module)


@pytest.mark.parametrize("package", [names for names in LAYERS])
def test_the_architecture_document_names_every_layer(package):
    document = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for name in package:
        assert f"`{name}`" in document, f"docs/architecture.md does not mention `{name}`"
