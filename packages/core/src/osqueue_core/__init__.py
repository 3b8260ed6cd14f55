"""osqueue state machine, group-commit engine and broker election."""
