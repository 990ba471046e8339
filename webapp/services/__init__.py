"""Business rules shared by the pages, the admin back office and the CLI."""
