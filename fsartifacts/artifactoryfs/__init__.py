"""``artifactory://``: an fsspec filesystem for JFrog Artifactory over requests.

Beside itself it imports only the top-level helpers (hashing, retry, redaction,
errors): nothing of the engine, the configuration or the stores, so it could ship alone."""
