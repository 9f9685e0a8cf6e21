"""The chapters' sources, checked before anything runs: fast errors for slips a build finds late.

Every table-of-contents entry exists; every chapter is a MyST notebook that exports to .ipynb;
every citation key is in references.bib; every number pasted into prose is glued in the same
chapter; no chapter redefines a function the library has (chapters import, they do not copy).
"""
import ast
import importlib.util
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("export_notebooks", ROOT / "scripts" / "export_notebooks.py")
export_notebooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(export_notebooks)

TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
PAGES = export_notebooks.toc_files(TOC)
CHAPTERS = list(export_notebooks.chapter_sources())


def _library_functions():
    names = set()
    for path in (ROOT / "lrbook").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                names.add(node.name)
    return names


def _code_cells(text):
    return re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", text, flags=re.S)


def test_every_toc_entry_exists():
    missing = [p for p in PAGES if not (ROOT / f"{p}.md").is_file()]
    assert not missing, f"_toc.yml lists pages that do not exist: {missing}"
    assert len(CHAPTERS) >= 1


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_exports_to_a_notebook(path, tmp_path):
    import jupytext
    nb = jupytext.read(path)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert sum(c.cell_type == "code" for c in nb.cells) >= 1
    jupytext.write(nb, tmp_path / "x.ipynb")
    assert (tmp_path / "x.ipynb").stat().st_size > 0


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_citations_are_in_the_bibliography(path):
    bib = (ROOT / "references.bib").read_text()
    known = set(re.findall(r"@\w+\{([^,]+),", bib))
    cited = set()
    for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", path.read_text()):
        cited.update(k.strip() for k in group.split(","))
    assert cited <= known, f"{path.name} cites unknown keys {sorted(cited - known)}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_pasted_numbers_are_glued_in_the_chapter(path):
    text = path.read_text()
    pasted = {m.split(":")[0] for m in re.findall(r"\{glue(?::\w+)?\}`([^`]+)`", text)}
    pasted |= set(re.findall(r"```\{glue(?::\w+)?\} (\S+)", text))
    glued = set(re.findall(r"glue\(\s*[\"']([^\"']+)[\"']", text))
    glued |= set(re.findall(r"glue\(\s*f[\"']([^\"'{]+)\{", text))   # glue(f"name_{k}", ...)
    prefixes = tuple(glued)
    missing = [k for k in pasted if k not in glued and not k.startswith(prefixes)]
    assert not missing, f"{path.name} pastes keys it never glues: {sorted(missing)}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapters_do_not_redefine_library_functions(path):
    library = _library_functions()
    defined = set()
    for cell in _code_cells(path.read_text()):
        try:
            tree = ast.parse("\n".join(l for l in cell.splitlines() if not l.startswith(":")))
        except SyntaxError:
            continue
        defined |= {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    twins = sorted(defined & library)
    assert not twins, f"{path.name} redefines lrbook functions {twins}: import them instead"
