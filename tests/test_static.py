"""Production static files: hashed names, and ES module imports that follow them."""

import re

from django.core.management import call_command
from django.test import override_settings


def test_collectstatic_rewrites_module_imports_to_hashed_names(tmp_path, settings):
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "chatproject.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=storages, STATIC_ROOT=tmp_path):
        call_command("collectstatic", interactive=False, verbosity=0)
    [app] = [p for p in (tmp_path / "chat").glob("app.*.js") if p.suffix == ".js"]
    imports = re.findall(r'from "\./([^"]+)"', app.read_text())
    assert imports, "app.js imports its modules"
    for name in imports:
        assert re.fullmatch(r"[a-z]+\.[0-9a-f]{12}\.js", name), name
        assert (tmp_path / "chat" / name).exists()
