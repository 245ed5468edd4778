"""The house as docs/architecture.md draws it: no import cycles among toolkit/ and plugins/ files, no import of
a higher floor, the core never imports a plugin, a plugin never imports another plugin.

Every import counts: module level and inside functions, and ``from package import name`` (which runs the
package's ``__init__``). The floors are read from the table in docs/architecture.md.
"""
import ast
import fnmatch
import os
import re
import sys

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))


def _modules() -> dict:
    found = {}
    for top in ('toolkit', 'plugins'):
        for folder, _, files in os.walk(os.path.join(REPO_ROOT, top)):
            for name in files:
                if name.endswith('.py'):
                    path = os.path.join(folder, name)
                    module = os.path.relpath(path, REPO_ROOT)[:-3].replace(os.sep, '.')
                    found[module[:-len('.__init__')] if module.endswith('.__init__') else module] = path
    return found


def import_graph(modules: dict) -> dict:
    """``module → set of project modules it imports`` (every import statement, anywhere in the file)."""
    graph = {}
    for module, path in modules.items():
        package = module if path.endswith('__init__.py') else module.rpartition('.')[0]
        targets = set()
        for node in ast.walk(ast.parse(open(path, encoding='utf-8').read(), path)):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ''
                if node.level:
                    parts = package.split('.')[:len(package.split('.')) - node.level + 1]
                    base = '.'.join(parts + ([base] if base else []))
                names = [base] + [f'{base}.{alias.name}' for alias in node.names if f'{base}.{alias.name}' in modules]
            for name in names:
                while name and name not in modules:
                    name = name.rpartition('.')[0]
                if not name:
                    continue
                targets.add(name)
                parts = name.split('.')  # importing a.b.c runs a and a.b first
                for depth in range(1, len(parts)):
                    parent = '.'.join(parts[:depth])
                    if parent in modules and not (module + '.').startswith(parent + '.'):
                        targets.add(parent)
        targets.discard(module)
        graph[module] = targets
    return graph


def cycles(graph: dict) -> list:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def floors() -> list:
    """``[(floor, [patterns])]`` from the table in docs/architecture.md."""
    text = open(os.path.join(REPO_ROOT, 'docs', 'architecture.md'), encoding='utf-8').read()
    rows = []
    for line in text.splitlines():
        match = re.match(r'^\|\s*(\d+)\s*\|([^|]*)\|', line)
        if match:
            rows.append((int(match[1]), re.findall(r'`([^`]+)`', match[2])))
    return rows


def floor_of(module: str, table: list) -> int:
    matches = [floor for floor, patterns in table for pattern in patterns if fnmatch.fnmatchcase(module, pattern)]
    assert matches, f'{module} is on no floor of docs/architecture.md: add it to the table'
    assert len(set(matches)) == 1, f'{module} is on several floors of docs/architecture.md: {matches}'
    return matches[0]


def test_no_import_cycles():
    graph = import_graph(_modules())
    assert cycles(graph) == []


def test_no_import_of_a_higher_floor_and_plugins_stay_apart():
    modules = _modules()
    graph, table = import_graph(modules), floors()
    assert len(table) >= 6
    problems = []
    for module, targets in sorted(graph.items()):
        floor = floor_of(module, table)
        for target in sorted(targets):
            if floor_of(target, table) > floor:
                problems.append(f'{module} (floor {floor}) imports {target} (floor {floor_of(target, table)})')
            if module.startswith('toolkit') and target.startswith('plugins'):
                problems.append(f'{module} imports the plugin {target}')
            if module.startswith('plugins.') and target.startswith('plugins.') and \
                    module.split('.')[1] != target.split('.')[1]:
                problems.append(f'{module} imports another plugin, {target}')
    assert problems == []


def test_the_checker_sees_what_it_must():
    """The graph follows function-level imports, relative imports and package __init__ runs."""
    graph = import_graph(_modules())
    assert 'toolkit.config' in graph['toolkit.zoo']  # imported inside a function
    assert 'toolkit.metrics.functional' in graph['toolkit.metrics.harmonization_metric']
    assert cycles({'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': {'a'}}) == [['a', 'b', 'c']]
