"""What only developers and the test suite run: the architecture diagram, the configuration
reference page and the checkov runner. The delivery pipeline is `delivery/`."""
