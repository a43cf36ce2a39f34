"""DynamoDB stream consumer."""
