"""What the archive publishes for other systems: IIIF manifests, OAI-PMH, linked data."""
