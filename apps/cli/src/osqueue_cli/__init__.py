"""The osqueue command."""
