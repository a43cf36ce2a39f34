"""The JSON Schema of the configuration files, generated from the settings models and
committed as config/schema.json; each file names it in its first line
(`#:schema ./schema.json`, the header directive of Taplo, the TOML language server of
Even Better TOML and of other editors), so editors complete and check keys.

Taplo supports JSON Schema draft 4, so pydantic's draft 2020-12 output is rewritten into
draft 4: `definitions` instead of `$defs`, boolean `exclusiveMinimum`, no `$ref`
siblings, key names as `properties` instead of `propertyNames`. A file is a partial
settings tree laid over the workspace's defaults, so nothing is `required` and no value
is null (TOML has none).

`python -m modules.config.file_schema [--check]` writes (or checks) config/schema.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from modules.config.files import CONFIG_DIR, label
from modules.config.schema import WorkspaceConfig

SCHEMA_FILE = CONFIG_DIR / "schema.json"
DRAFT_4 = "http://json-schema.org/draft-04/schema#"


# Dropped: a default is per workspace (docs/configuration.md lists them), and the model's
# own would mislead; titles repeat the key.
_DROPPED = ("required", "title", "default")


def _draft4(node: Any) -> Any:
    if isinstance(node, list):
        return [_draft4(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: ({name: _draft4(sub) for name, sub in value.items()} if key == "properties" else _draft4(value))
            for key, value in node.items() if key not in _DROPPED}
    options = node.get("anyOf")
    if options and {"type": "null"} in options:
        # Optional[X]: a file leaves the key out instead of writing null.
        rest = [option for option in options if option != {"type": "null"}]
        del node["anyOf"]
        node = {**(rest[0] if len(rest) == 1 else {"anyOf": rest}), **node}
    if "exclusiveMinimum" in node and not isinstance(node["exclusiveMinimum"], bool):
        node["minimum"], node["exclusiveMinimum"] = node["exclusiveMinimum"], True
    names = node.pop("propertyNames", None)
    if names:
        value_schema = node.get("additionalProperties", {})
        node["properties"] = dict.fromkeys(names["enum"], value_schema)
        node["additionalProperties"] = False
    if "$ref" in node and len(node) > 1:
        node = {"allOf": [{"$ref": node.pop("$ref")}], **node}
    return node


def file_schema() -> dict[str, Any]:
    """The schema of config/<workspace>.toml, as committed in config/schema.json."""
    generated = WorkspaceConfig.model_json_schema(ref_template="#/definitions/{model}")
    definitions = generated.pop("$defs", {})
    body = _draft4(generated)
    body.pop("description", None)
    return {
        "$schema": DRAFT_4,
        "title": "Workspace configuration file (config/<workspace>.toml)",
        "description": "What differs from the workspace's defaults (docs/configuration.md). Generated from "
                       "modules/config/schema.py by `make config-docs`; do not edit.",
        **body,
        "definitions": {name: _draft4(definition) for name, definition in sorted(definitions.items())},
    }


def rendered() -> str:
    return json.dumps(file_schema(), indent=2, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m modules.config.file_schema", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the committed schema is out of date")
    args = parser.parse_args(argv)
    text = rendered()
    if args.check:
        current = SCHEMA_FILE.is_file() and SCHEMA_FILE.read_text() == text
        if not current:
            print(f"{label(SCHEMA_FILE)} is out of date; run `make config-docs`", file=sys.stderr)
        return 0 if current else 1
    SCHEMA_FILE.write_text(text)
    print(f"wrote {label(SCHEMA_FILE)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
