"""The web room: URL map, middlewares, HTML page views and JSON API views. No SQL here."""
