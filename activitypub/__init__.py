"""The ActivityPub protocol library: no database, no web framework, no application imports."""
