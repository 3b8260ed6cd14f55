"""Worker runtime for osqueue."""
