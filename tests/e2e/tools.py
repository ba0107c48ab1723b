"""The outside tools of tests/tools (npm packages nobody here wrote: a
standard EventSource, a validating OpenAPI proxy, an OpenAPI linter), which
`make e2e` installs with npm ci from its package-lock.json. A test that needs
them fails when they are missing: it is never skipped."""
import os
import shutil

import pytest

from conftest import ROOT

TOOLS = os.path.join(ROOT, "tests", "tools")


def node_tool(*path):
    """The path of a file under tests/tools (a script, or node_modules/.bin/NAME)."""
    if shutil.which("node") is None:
        pytest.fail("node is not installed: scripts/deps.sh installs it")
    if not os.path.isdir(os.path.join(TOOLS, "node_modules")):
        pytest.fail("tests/tools/node_modules is missing: run `make tools-deps` "
                    "(npm ci in tests/tools)")
    return os.path.join(TOOLS, *path)
