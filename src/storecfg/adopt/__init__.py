"""Taking changes made outside storecfg back into the store definition (`storecfg adopt`)."""
