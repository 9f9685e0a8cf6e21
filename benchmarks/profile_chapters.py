"""Where a chapter's execution time goes: the compiled kernels against everything else.

Executes each chapter as the book build does (a fresh kernel, the notebook's directory as the
working directory) and reports:

* the chapter's wall time;
* the time spent inside the compiled kernels of :mod:`lrbook._kernels` (``softmax_pass``,
  ``binary_pass``, ``softmax_sgd``, ``softmax_scores``), measured by wrapping them in the
  chapter's own process. Work done in joblib worker processes (``protocol.run_many``,
  ``protocol.learning_curve`` with ``n_jobs=2``) is not counted there: it shows up as the
  wall time of the cell that waits for it;
* the cells that spend the most time outside the kernels.

The kernel share bounds what a faster kernel could save: a chapter whose kernels take 40 % of
its time cannot run in less than 60 % of it, however fast they get.

Run:  python benchmarks/profile_chapters.py book/first-step.md [book/...md ...] [--top 8]

Set ``LRBOOK_RESULTS`` to an empty folder to time the chapters that cache their results
(augmentation, representation) from scratch; ``TQDM_DISABLE=1`` as the build does.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import time

import jupytext
import nbclient
import nbformat

# Run first in the chapter's kernel: wraps the kernels in a timer.
SETUP = '''
import time as _lrbook_t
import lrbook._kernels as _lrbook_k
_LRBOOK_KT = {}


def _lrbook_timed(name, f):
    def timed(*args, **kwargs):
        t = _lrbook_t.perf_counter()
        try:
            return f(*args, **kwargs)
        finally:
            d = _LRBOOK_KT.setdefault(name, [0.0, 0])
            d[0] += _lrbook_t.perf_counter() - t
            d[1] += 1
    return timed


for _n in ("softmax_pass", "binary_pass", "softmax_sgd", "softmax_scores"):
    setattr(_lrbook_k, _n, _lrbook_timed(_n, getattr(_lrbook_k, _n)))
'''
# Run after each cell of the chapter: the kernel time so far, per kernel.
REPORT = 'import json as _lrbook_j; print("KERNELS", _lrbook_j.dumps(_LRBOOK_KT))'


def _seconds(cell):
    m = cell.metadata.get("execution", {})
    start, end = m.get("iopub.execute_input"), m.get("shell.execute_reply")
    if not (start and end):
        return 0.0
    parse = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()


def _kernel_totals(cell):
    text = "".join(o.get("text", "") for o in cell.get("outputs", []))
    return json.loads(text.split("KERNELS", 1)[1])


def profile(path):
    """Execute one chapter; returns (wall seconds, {kernel: [seconds, calls]},
    [(seconds, kernel seconds, first line of source)] per code cell)."""
    nb = jupytext.read(path)
    chapter_cells = [c for c in nb.cells if c.cell_type == "code"]
    cells = [nbformat.v4.new_code_cell(SETUP)]
    for c in nb.cells:
        cells.append(c)
        if c.cell_type == "code":
            cells.append(nbformat.v4.new_code_cell(REPORT))
    nb.cells = cells
    client = nbclient.NotebookClient(
        nb, timeout=3600, kernel_name="python3", record_timing=True,
        resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}})
    t0 = time.perf_counter()
    client.execute()
    wall = time.perf_counter() - t0
    rows, before = [], 0.0
    for i, c in enumerate(nb.cells):
        if any(c is x for x in chapter_cells):
            totals = _kernel_totals(nb.cells[i + 1])
            now = sum(v[0] for v in totals.values())
            first = next((s for s in c.source.splitlines() if s.strip() and not
                          s.startswith((":tags", "---", "mystnb", "  "))), "")
            rows.append((_seconds(c), now - before, first[:72]))
            before = now
    return wall, totals, rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("chapters", nargs="+", help="MyST notebooks, e.g. book/first-step.md")
    parser.add_argument("--top", type=int, default=6, help="cells listed per chapter")
    args = parser.parse_args(argv)
    summary = []
    for path in args.chapters:
        wall, totals, rows = profile(path)
        kern = sum(v[0] for v in totals.values())
        summary.append((os.path.basename(path), wall, kern))
        print(f"\n{os.path.basename(path)}: {wall:.1f} s, compiled kernels {kern:.1f} s "
              f"({kern / wall:.0%}); " + ", ".join(
                  f"{k} {v[0]:.1f} s in {v[1]} calls" for k, v in sorted(totals.items())))
        print(f"  {'cell s':>7} {'kernels':>7} {'other':>6}  cells with the most time outside"
              " the kernels")
        for sec, k, first in sorted(rows, key=lambda r: r[1] - r[0])[:args.top]:
            print(f"  {sec:7.1f} {k:7.1f} {sec - k:6.1f}  {first}")
    wall = sum(s[1] for s in summary)
    kern = sum(s[2] for s in summary)
    print(f"\n{'chapter':<28} {'wall s':>7} {'kernels s':>9} {'other s':>8}")
    for name, w, k in summary:
        print(f"{name:<28} {w:7.1f} {k:9.1f} {w - k:8.1f}")
    print(f"{'all':<28} {wall:7.1f} {kern:9.1f} {wall - kern:8.1f}")


if __name__ == "__main__":
    main()
