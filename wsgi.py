"""Entry point for ``flask --app wsgi`` and WSGI servers."""

from archive import create_app

app = create_app()
