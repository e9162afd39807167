"""The HTTP layer: thin handlers over the services."""
