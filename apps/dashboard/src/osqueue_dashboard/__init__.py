"""Web dashboard for osqueue."""
