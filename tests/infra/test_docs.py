"""The README and the documentation site name only `make` targets and variables that exist.

Docs drift quietly: a renamed target or a removed variable still reads well. Every `make
<target>` and every upper-case variable shown in code formatting (inline code or a fenced
block) must exist: the target in the Makefile, the variable somewhere in the code, scripts,
workflows or Makefile (not only in the docs).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Where a variable counts as existing: everything that runs, none of the prose.
CODE_GLOBS = ("modules/**/*.py", "handlers/**/*.py", "delivery/**/*.py", "devtools/**/*.py", "localmode/**/*.py",
              "bench/*.py", "tests/**/*.py", "main.py", "Makefile", "scripts/*", ".ci/run", ".github/workflows/*.yml",
              "cdktf.json", "mkdocs.yml", "config/*")

# Variables of other tools the docs may name, with what they are.
EXTERNAL_VARIABLES = {"TF_LOG": "Terraform's own log level"}

_CODE = re.compile(r"```[^\n]*\n(.*?)```|`([^`\n]+)`", re.S)
_MAKE = re.compile(r"\bmake\s+(?:-\S+\s+)*([a-z][a-z0-9-]*)")
# An upper-case name with an underscore (`API_KIND`) or one assigned (`FRESH=1`).
_VARIABLE = re.compile(r"\b([A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9])\b|\b([A-Z][A-Z0-9]+)=")


def code_spans(markdown: str) -> list[str]:
    return [block or inline for block, inline in _CODE.findall(markdown)]


def named_targets(markdown: str) -> set[str]:
    return {target for span in code_spans(markdown) for target in _MAKE.findall(span)}


def named_variables(markdown: str) -> set[str]:
    return {a or b for span in code_spans(markdown) for a, b in _VARIABLE.findall(span)}


def make_targets(makefile: str) -> set[str]:
    return set(re.findall(r"^([a-z][a-z0-9-]*):", makefile, re.M))


def code_text() -> str:
    files = {path for pattern in CODE_GLOBS for path in ROOT.glob(pattern)
             if path.is_file() and path != Path(__file__).resolve()}
    return "\n".join(path.read_text(errors="replace") for path in sorted(files))


def problems(documents: dict[str, str], targets: set[str], code: str) -> list[str]:
    found = []
    for name, text in documents.items():
        found += [f"{name}: `make {t}`: no such Makefile target" for t in sorted(named_targets(text) - targets)]
        found += [f"{name}: `{v}`: named nowhere in the code" for v in sorted(named_variables(text))
                  if v not in EXTERNAL_VARIABLES and not re.search(rf"\b{v}\b", code)]
    return found


def test_every_target_and_variable_the_docs_name_exists() -> None:
    documents = {str(path.relative_to(ROOT)): path.read_text() for path in DOCUMENTS}
    assert len(documents) > 10, "the README and the docs site's pages"
    targets = make_targets((ROOT / "Makefile").read_text())
    assert problems(documents, targets, code_text()) == []


def test_a_missing_target_or_variable_is_reported() -> None:
    # Given a page naming a target and variables the project does not have, beside real ones
    page = ("Run `make up`, then `make nosuch-target`.\n\n```bash\nNO_SUCH_SETTING=1 make test\n"
            "WORKSPACES=dev make synth\nFRESHLY=1 make up\n```\n")
    # When it is checked against the real Makefile and code
    found = problems({"page.md": page}, make_targets((ROOT / "Makefile").read_text()), code_text())
    # Then exactly the invented names are reported, each with its page
    assert found == ["page.md: `make nosuch-target`: no such Makefile target",
                     "page.md: `FRESHLY`: named nowhere in the code",
                     "page.md: `NO_SUCH_SETTING`: named nowhere in the code"]
