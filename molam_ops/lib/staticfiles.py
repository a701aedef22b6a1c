"""The static files storage: content-hashed names (a release never serves a
stale script, and every file can be cached for a year), compressed copies
for WhiteNoise, and the widgets' ES module imports rewritten to the hashed
names too."""

from __future__ import annotations

from django.conf import settings
from whitenoise.storage import CompressedManifestStaticFilesStorage


# whitenoise ships no type hints: its class is Any to mypy
class HashedStaticFilesStorage(CompressedManifestStaticFilesStorage):  # type: ignore[misc]
    # `import … from "./x.js"` between the widget scripts: without this the
    # browser would ask for the unhashed x.js, served stale after a release.
    # (The rewrite is a regular expression: a comment line holding the word
    # import or export right above an import fails collectstatic loudly.)
    support_js_module_import_aggregation = True

    def url(self, name: str | None, force: bool = False) -> str:
        # Hashed with DEBUG on too: the service worker keeps these files
        # cache-first, so an unhashed name would stay stale in development.
        try:
            return str(super().url(name, force=True))
        except ValueError:
            # DEBUG only: a file collectstatic has not seen yet (added since,
            # or never run) is served under its own name by the finders
            if settings.DEBUG:
                return str(super().url(name, force=False))
            raise
