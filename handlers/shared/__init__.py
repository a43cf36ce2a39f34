"""Code shared by every function: settings, observability, domain models and errors, AWS adapters."""
