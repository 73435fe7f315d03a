"""Print the project's dependencies from pyproject.toml: the torch pins (--torch) or all others."""

import re
import sys
import tomllib

TORCH = {"torch", "torchvision"}

with open("pyproject.toml", "rb") as pyproject:
    dependencies = tomllib.load(pyproject)["project"]["dependencies"]
want_torch = "--torch" in sys.argv[1:]
for requirement in dependencies:
    name = re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower()
    if (name in TORCH) == want_torch:
        print(requirement)
