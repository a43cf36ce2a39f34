"""Business logic of the API: no HTTP, no boto3; repositories are passed in."""
