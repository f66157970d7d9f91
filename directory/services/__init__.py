"""Use cases: the only code that combines the store, the protocol library and matching."""
