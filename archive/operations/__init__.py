"""Running the archive: health checks and metrics, backups and restores."""
