"""The balance-board command line and shared application plumbing (data folder, logging)."""
