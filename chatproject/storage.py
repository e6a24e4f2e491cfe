from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    """Hashed, compressed static files, with ES module imports rewritten to the
    hashed names too, so a deploy never mixes old and new modules in a browser."""

    support_js_module_import_aggregation = True
