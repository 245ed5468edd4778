"""The local comparison page (``harmony app``): see :mod:`toolkit.app.server`."""
