"""Pure logic about X accounts and new accounts: identifiers, archives, matching and exports."""
