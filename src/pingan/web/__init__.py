"""The web application: API routers and pages."""
