"""The dependency rules of DESIGN.md, checked on the source: a rule nobody tests erodes."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_domain_code_does_not_import_http_or_push() -> None:
    exempt = {ROOT / "backend" / "app.py", ROOT / "backend" / "cli.py"}
    for path in python_files("backend"):
        if path in exempt:
            continue
        names = imports(path)
        assert not {n for n in names if n.split(".")[0] in ("handlers", "miniprogram_api", "push")}, path
        if "backend/http/" not in path.as_posix():
            assert "tornado.web" not in names, path


def test_faces_do_not_import_each_other() -> None:
    for face, other in (("handlers", "miniprogram_api"), ("miniprogram_api", "handlers")):
        for path in python_files(face):
            assert not {n for n in imports(path) if n.split(".")[0] == other}, path


def test_only_use_cases_emit_events() -> None:
    """Events are written with the state change, so only the write path may create them: the
    case kernel's engine, and use cases (for events beside a transition's, and non-case writes)."""
    allowed = {ROOT / "backend" / "events.py", ROOT / "backend" / "cases" / "engine.py"}
    for package in ("backend", "handlers", "miniprogram_api", "push"):
        for path in python_files(package):
            if path in allowed or path.name == "use_cases.py":
                continue
            emitting = {n for n in imports(path) if n in (
                "backend.events.new_event", "backend.events.with_event", "backend.events.doc_with_events")}
            assert not emitting, f"{path} creates domain events outside a use case"


def test_handlers_do_not_write_to_the_store() -> None:
    for face in ("handlers", "miniprogram_api"):
        for path in python_files(face):
            text = path.read_text(encoding="utf-8")
            for write in (".insert_one(", ".update_one(", ".find_one_and_update(", ".delete_one(", ".update_many("):
                assert write not in text, f"{path} writes to the store; call a use case"
