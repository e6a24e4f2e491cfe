from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    """Hashed, compressed static files, with ES module imports rewritten to the
    hashed names too, so a deploy never mixes old and new modules in a browser."""

    support_js_module_import_aggregation = True
    # A module's hash covers the hashed names it imports, so each pass settles one
    # more level of the import graph (from its leaves), and one more pass finds
    # nothing left to change. Django's default (5) is less than the client's import
    # depth (static/chat/, checked by tests/test_static.py). A cycle never settles.
    max_post_process_passes = 24
