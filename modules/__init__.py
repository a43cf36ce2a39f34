"""Infrastructure of the product (cdktf constructs and stacks). Never imports handlers/
at runtime except to read route and schema metadata."""

import os

# jsii (under cdktf) prints a large banner on every start when Node 20 is past its
# end of life; Node 20 is what the development machines run.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
