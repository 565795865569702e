"""The HTTP API: a package of its own over the domain (the domain never imports it). Build it with
:func:`metricstore.api.app.create_app`; ``metricstore serve`` runs it."""
