"""The requirements files name every third-party package the code imports."""
import ast
import re
import sys
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ('vireid', 'tools', 'demo')
# import names of optional packages that differ from their distribution's, for where they are
# not installed (packages_distributions knows only installed ones)
DISTRIBUTION_OF = {'sklearn': 'scikit-learn', 'cv2': 'opencv-python'}


def canonical(name: str) -> str:
    return re.sub(r'[-_.]+', '-', name).lower()


def requirement_names(lines) -> set:
    """Distribution names of requirement lines; those needed only by an extra are left out."""
    names = set()
    for line in lines:
        line = line.split('#')[0].strip()
        if line and 'extra ==' not in line:
            names.add(canonical(re.split(r'[<>=!~ ;\[(]', line, maxsplit=1)[0]))
    return names


def installed_closure(names: set) -> set:
    """``names`` and, transitively, what their installed distributions require."""
    closure, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name not in closure:
            closure.add(name)
            try:
                todo.extend(requirement_names(requires(name) or []))
            except PackageNotFoundError:
                pass
    return closure


def imported_top_level_names() -> dict:
    """``{module: first file importing it}`` of every absolute import in the sources."""
    found = {}
    for source in SOURCES:
        for path in sorted((ROOT / source).rglob('*.py')):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and not node.level:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split('.')[0], path.relative_to(ROOT))
    return found


def test_every_third_party_import_is_installed_by_the_runtime_or_optional_requirements():
    runtime = requirement_names((ROOT / 'requirements/runtime.txt').read_text().splitlines())
    optional = requirement_names((ROOT / 'requirements/optional.txt').read_text().splitlines())
    provided = installed_closure(runtime) | optional
    by_module = packages_distributions()
    ours = set(SOURCES) | {'configs'}
    missing = {}
    for module, path in imported_top_level_names().items():
        if module in sys.stdlib_module_names or module in ours:
            continue
        dists = {canonical(d) for d in by_module.get(module, [DISTRIBUTION_OF.get(module, module)])}
        if not dists & provided:
            missing[module] = str(path)
    # re-ranking's sparse matrices need scipy, which once came only with the test requirements
    assert 'scipy' in imported_top_level_names()
    assert not missing, f'imported, but no requirements file installs it: {missing}'
