"""CSV import of records into a campaign or a project: read, normalise, route, store."""
