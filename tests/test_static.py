"""Production static files: hashed names, and ES module imports that follow them."""

import json
import posixpath
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

from chatproject.storage import StaticFilesStorage

CLIENT = Path(__file__).resolve().parent.parent / "static" / "chat"
ENTRY = "chat/main.js"
# Every static import and re-export: `import {..} from "x"`, `import "x"`,
# `export {..} from "x"`.
SPECIFIER = re.compile(r"""(?:\bfrom|\bimport)\s*["']([^"']+)["']""")
HASHED = re.compile(r"[a-z][a-z0-9-]*\.[0-9a-f]{12}\.js")


def specifiers(text: str) -> list[str]:
    return SPECIFIER.findall(text)


@pytest.fixture(scope="module")
def collected(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """collectstatic with the production storage: the root and its manifest
    (source name -> hashed name)."""
    root = tmp_path_factory.mktemp("static")
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "chatproject.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=storages, STATIC_ROOT=root):
        call_command("collectstatic", interactive=False, verbosity=0)
    manifest = json.loads((root / "staticfiles.json").read_text())["paths"]
    return root, manifest


def import_graph() -> dict[str, list[str]]:
    """The client's modules (paths under static/chat/) -> the modules they import."""
    graph = {}
    for path in CLIENT.rglob("*.js"):
        name = path.relative_to(CLIENT).as_posix()
        graph[name] = [
            posixpath.normpath(posixpath.join(posixpath.dirname(name), spec))
            for spec in specifiers(path.read_text())
        ]
    return graph


def test_the_import_graph_is_one_collectstatic_can_hash():
    """collectstatic hashes a module with the hashes of what it imports: each pass
    settles one more level, so a cycle never settles, and a chain needs as many
    passes as it is long ("Max post-process passes exceeded")."""
    graph = import_graph()
    depth: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> int:
        assert name not in trail, " -> ".join([*trail[trail.index(name) :], name])
        if name not in depth:
            for target in graph[name]:
                assert target in graph, f"{name} imports {target}: no such module"
            depth[name] = 1 + max(
                (visit(target, [*trail, name]) for target in graph[name]), default=0
            )
        return depth[name]

    deepest = max(visit(name, []) for name in graph)
    assert deepest < StaticFilesStorage.max_post_process_passes, (
        f"imports {deepest} modules deep: raise max_post_process_passes"
    )


def test_every_module_import_is_rewritten_to_a_current_hashed_name(collected):
    root, manifest = collected
    current = set(manifest.values())
    modules = [n for n in manifest if n.startswith("chat/") and n.endswith(".js")]
    assert ENTRY in modules
    assert any("/" in name.removeprefix("chat/") for name in modules), (
        "the client has modules in subdirectories"
    )
    for name in modules:
        hashed = manifest[name]
        imports = specifiers((root / hashed).read_text())
        for spec in imports:
            assert spec.startswith(("./", "../")), f"{name}: {spec} is not relative"
            assert HASHED.fullmatch(posixpath.basename(spec)), f"{name}: {spec}"
            target = posixpath.normpath(posixpath.join(posixpath.dirname(hashed), spec))
            # The current hash, not one from an earlier post-processing pass
            # (those files are left on disk too).
            assert target in current, f"{name}: {spec} is not a current file"
            assert (root / target).exists(), f"{name}: {spec}"


def test_the_entry_module_imports_its_modules(collected):
    root, manifest = collected
    imports = specifiers((root / manifest[ENTRY]).read_text())
    assert imports, "main.js imports its modules"
    assert any(spec.startswith("./transport/") for spec in imports)
