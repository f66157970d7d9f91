"""Starlette endpoints: parse the request, call a service, render; no SQL, no business rules."""
