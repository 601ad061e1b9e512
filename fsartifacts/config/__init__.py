"""The configuration: found, read, ${VAR} expanded, validated and built into a typed model."""
