"""Storage backends for osqueue: memory, local files, S3, GCS."""
