"""HTTP: the only part that imports Flask (app, routes, authentication, server)."""
