"""The chapters' sources, checked before anything runs: fast errors for slips a build finds late.

Every table-of-contents entry exists; every chapter is a MyST notebook that exports to .ipynb;
every citation key is in references.bib; every number pasted into prose is glued in the same
chapter; no chapter redefines a function the library has, under its own name or another
(chapters import, they do not copy), unless it is marked as a deliberate teaching copy.
"""
import ast
import difflib
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


# A chapter may write its own version of a library function on purpose, to teach it (a naive
# softmax, an exercise's solution), and then check it against the library's. It says so with
# this marker on the line of the ``def`` or the line above:
TEACHING_MARK = "teaching copy of lrbook."


def _shape(fn):
    """A function's body as a sequence of tokens that ignores names: node types, operators,
    constants' types and attribute names (``np.exp`` stays ``exp``), docstring dropped. Two
    functions with the same shape compute the same thing up to renaming."""
    body = fn.body[1:] if (fn.body and isinstance(fn.body[0], ast.Expr)
                           and isinstance(getattr(fn.body[0], "value", None), ast.Constant)
                           and isinstance(fn.body[0].value.value, str)) else fn.body
    tokens = []
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, (ast.Load, ast.Store, ast.Del)):
                continue
            tok = type(node).__name__
            if isinstance(node, ast.Attribute):
                tok += "." + node.attr
            elif isinstance(node, ast.Constant):
                tok += ":" + type(node.value).__name__
            tokens.append(tok)
    return tokens


def _library_shapes():
    shapes = {}
    for path in sorted((ROOT / "lrbook").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef):
                shapes[f"lrbook.{path.stem}.{node.name}"] = _shape(node)
    return shapes


def _chapter_functions(text):
    """``(function node, source lines of its cell)`` for every function a chapter defines."""
    out = []
    for cell in _code_cells(text):
        src = "\n".join(l for l in cell.splitlines() if not l.startswith(":"))
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue
        lines = src.splitlines()
        out += [(n, lines) for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
    return out


def copies_of_library_code(text, min_tokens=25, ratio=0.85):
    """Functions of a chapter whose shape matches a library function's: ``[(name, twin)]``.
    Functions carrying the teaching-copy marker are left out."""
    shapes = _library_shapes()
    found = []
    for fn, lines in _chapter_functions(text):
        near = " ".join(lines[max(0, fn.lineno - 2):fn.lineno])
        if TEACHING_MARK in near:
            continue
        mine = _shape(fn)
        if len(mine) < min_tokens:
            continue
        for twin, theirs in shapes.items():
            if len(theirs) >= min_tokens and difflib.SequenceMatcher(
                    None, mine, theirs, autojunk=False).ratio() >= ratio:
                found.append((fn.name, twin))
    return found


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


def _glued_keys(text):
    """The keys a chapter glues with a literal name."""
    return set(re.findall(r"glue(?:_seconds)?\(\s*[\"']([^\"']+)[\"']", text))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_pasted_numbers_are_glued_in_the_chapter(path):
    text = path.read_text()
    refs = re.findall(r"\{glue(?::\w+)?\}`([^`]+)`", text)
    # another page's number, {glue:text}`page.md::key:fmt`: glued by that page
    for ref in (r for r in refs if "::" in r):
        page, key = ref.split("::")[0], ref.split("::")[1].split(":")[0]
        assert key in _glued_keys((path.parent / page).read_text()), (
            f"{path.name} pastes {key!r} from {page}, which does not glue it")
    pasted = {m.split(":")[0] for m in refs if "::" not in m}
    pasted |= set(re.findall(r"```\{glue(?::\w+)?\} (\S+)", text))
    glued = _glued_keys(text)
    # glue(f"name_{k}", ...) or glue(f"{key}_rises", ...): any word where the braces are
    templates = re.findall(r"glue(?:_seconds)?\(\s*f[\"']([^\"']+)[\"']", text)
    patterns = [re.compile("".join(r"\w+" if part.startswith("{") else re.escape(part)
                                   for part in re.split(r"(\{[^}]*\})", t) if part) + "$")
                for t in templates]
    missing = [k for k in pasted
               if k not in glued and not any(p.match(k) for p in patterns)]
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



@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapters_do_not_copy_library_code_under_another_name(path):
    copies = copies_of_library_code(path.read_text())
    assert not copies, (f"{path.name} defines functions that copy library code: {copies}; "
                        f"import them, or mark a deliberate teaching copy with a comment "
                        f"'# {TEACHING_MARK}<module>.<name>' on the line above the def")


def test_the_copy_check_catches_a_renamed_copy_and_accepts_a_marked_one():
    lib = (ROOT / "lrbook" / "metrics.py").read_text()
    tree = ast.parse(lib)
    src = next(ast.get_source_segment(lib, n) for n in ast.walk(tree)
               if isinstance(n, ast.FunctionDef) and n.name == "evaluate_many")
    renamed = src.replace("def evaluate_many", "def score_all").replace("Ws", "weights_list")
    chapter = "```{code-cell} ipython3\n" + renamed + "\n```\n"
    assert copies_of_library_code(chapter) == [("score_all", "lrbook.metrics.evaluate_many")]
    marked = ("```{code-cell} ipython3\n# " + TEACHING_MARK + "metrics.evaluate_many\n"
              + renamed + "\n```\n")
    assert copies_of_library_code(marked) == []


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapters_glue_through_the_library(path):
    text = path.read_text()
    assert "from myst_nb import glue" not in text, (
        f"{path.name} imports myst_nb's glue: use 'from lrbook.book import glue', which "
        "glues NumPy scalars as plain numbers")


def _code_lines(cell):
    """The code of a chapter cell, without its YAML options block (``---`` ... ``---``) and
    without ``:key: value`` option lines."""
    lines = cell.splitlines()
    if lines and lines[0].strip() == "---" and "---" in (l.strip() for l in lines[1:]):
        lines = lines[[l.strip() for l in lines[1:]].index("---") + 2:]
    return [l for l in lines if not l.startswith(":")]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_code_lines_fit_the_page_column(path):
    long = [(len(l), l.strip()[:50]) for cell in _code_cells(path.read_text())
            for l in _code_lines(cell) if len(l) > 88]
    assert not long, f"{path.name} has code lines over 88 characters: {long}"
