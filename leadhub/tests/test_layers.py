"""The layers of design §4: an app never imports an app above it (the composition root's
shared modules, such as leadhub.db and leadhub.lanes, belong to no layer). Read from the
source, so nothing is imported to check it."""

import ast
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
# Lowest first; the composition root's apps last.
LAYERS = [
    ("reps",),
    ("leadhub.leads",),
    ("routing",),
    ("sla",),
    ("leadhub.web",),
    ("leadhub.ops", "leadhub.demo"),
]


def layer_of(module: str) -> int | None:
    for level, apps in enumerate(LAYERS):
        if any(module == app or module.startswith(app + ".") for app in apps):
            return level
    return None


def imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.lineno, node.module))
    return found


def test_no_app_imports_an_app_above_it():
    upward = []
    for level, apps in enumerate(LAYERS):
        for app in apps:
            for path in sorted((ROOT / app.replace(".", "/")).rglob("*.py")):
                if "tests" in path.relative_to(ROOT).parts:
                    continue
                for line, module in imports(path):
                    above = layer_of(module)
                    if above is not None and above > level:
                        upward.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert upward == []
