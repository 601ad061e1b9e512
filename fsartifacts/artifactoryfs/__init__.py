"""``artifactory://``: an fsspec filesystem for JFrog Artifactory over requests.

It imports nothing from the rest of fsartifacts but errors, retry and redaction."""
