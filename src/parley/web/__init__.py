"""The watch desk's pages: served by the node itself, on the officer API and its live stream.

The pages are an edge like the CLI and the API: the server renders a page's frame (its language,
the officer, the CSRF token of the session) and the page's scripts read and act through
``/api/v1`` with the session cookie, so every page shows what the API shows, to whom the API
shows it. Nothing is fetched from outside the node: scripts, styles, fonts and the base map are
vendored under ``static/vendor`` (``tools/vendor_assets.py``).
"""
