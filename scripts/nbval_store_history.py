"""pytest plugin for ``make test-chapters``: nbval executes cells the way the book build does.

nbval 0.11 sends every cell with ``store_history=False``. IPython decides whether a trailing
``;`` silences a cell's value by looking at the last cell *stored in the history*, so under
nbval ``ax.set_ylim(0, 1);`` shows ``(0.0, 1.0)`` (and ``ax.legend();`` a ``Legend at 0x...``)
while the book build (nbclient, which stores history) shows nothing: the comparison then fails
on outputs that are not results. Storing the history, as every notebook front end does, makes
the two executions alike. Loaded with ``-p scripts.nbval_store_history``.
"""
import nbval.kernel


def _execute_cell_input(self, cell_input, allow_stdin=None):
    return self.kc.execute(cell_input, store_history=True, allow_stdin=allow_stdin,
                           stop_on_error=False)


nbval.kernel.RunningKernel.execute_cell_input = _execute_cell_input
