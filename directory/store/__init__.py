"""SQL lives here and only here: functions that take a connection and return models."""
