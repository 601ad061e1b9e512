"""S3 as a store: s3fs configured, its errors and retries, what S3 does better."""
