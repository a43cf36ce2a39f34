"""CodeDeploy's lifecycle hooks for the product's Lambda deployments."""
