"""The expensive metric groups (PoseBusters, MMFF strain, Vina docking), one molecule at a time under a time limit.

A single molecule can make such a check run for ever (PoseBusters never returns on
``O=C(NC1CCCCC1)C1CCN(C2=NC=NC3=NC=N[C@H]32)CC1`` embedded by RDKit's ETKDG), and a thread
cannot be stopped; so each check runs in a worker process that is killed and replaced when
one molecule takes longer than ``EvalOptions.time_limit_s``. A molecule with more than
``EvalOptions.max_atoms`` atoms is not sent at all: these checks grow much faster than its size
(PoseBusters takes minutes on a 240-atom alkane, MMFF strain about 17 s at 500 atoms), so one such
record would cost each group its whole time limit. Every row of a timed group gets
``<group>.status``: ``ok``, ``timeout`` (killed after the limit), ``skipped`` (too large, with
``<group>.skip_reason``) or ``error`` (the worker died: a crash inside the library; its traceback
went to stderr, the library log under ``molgen evaluate``). The caller hears of each
finished molecule (``on_done``), so progress moves and partial results can be written.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from multiprocessing.connection import Connection, wait

from molgen.eval.group import EvalOptions, Rows

OK, TIMEOUT, ERROR, SKIPPED = "ok", "timeout", "error", "skipped"


def status_key(group: str) -> str:
    """The per-molecule column that says how ``group``'s check of the molecule ended."""
    return f"{group}.status"


def too_large(block: bytes, options: EvalOptions) -> str | None:
    """Why the molecule ``block`` is skipped by the timed groups (more than ``options.max_atoms`` atoms), or None."""
    from rdkit import Chem

    n_atoms = Chem.Mol(block).GetNumAtoms()
    if options.max_atoms is None or n_atoms <= options.max_atoms:
        return None
    return f"too large: {n_atoms} atoms > max_atoms {options.max_atoms}"


def _serve(conn: Connection, options: EvalOptions) -> None:
    """Worker loop: ``(block, group)`` in, ``(row, cpu_seconds)`` out, until ``None`` arrives."""
    from molgen.eval.registry import GROUPS
    from molgen.eval.runner import from_blocks

    while (task := conn.recv()) is not None:
        block, name = task
        start = time.process_time()
        (row,) = GROUPS[name].compute(from_blocks([block]), options)
        conn.send((row, time.process_time() - start))


class _Worker:
    """One killable worker process and the task it is running (``index``, ``group``, deadline)."""

    def __init__(self, context, options: EvalOptions):
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, options), daemon=True)
        self.process.start()
        child.close()
        self.task: tuple[int, str, float] | None = None

    def send(self, index: int, block: bytes, group: str, limit_s: float) -> None:
        self.task = (index, group, time.monotonic() + limit_s)
        self.conn.send((block, group))

    def stop(self, kill: bool = False) -> None:
        if kill:
            self.process.kill()
        else:
            try:
                self.conn.send(None)
            except (BrokenPipeError, OSError):
                self.process.kill()
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


def warm_imports(names: list[str]) -> None:
    """Import the heavy libraries of ``names`` here, so forked workers inherit them instead of each importing."""
    if "posebusters" in names:
        import posebusters  # noqa: F401
    if "docking" in names:
        import vina  # noqa: F401


def compute_timed(
    blocks: list[bytes],
    names: list[str],
    options: EvalOptions,
    workers: int = 1,
    on_done: Callable[[int], None] | None = None,
    rows: Rows | None = None,
    on_idle: Callable[[], None] | None = None,
) -> tuple[Rows, dict[str, float]]:
    """Rows [len(blocks)] of the timed groups ``names``, each check limited to ``options.time_limit_s``.

    A molecule larger than ``options.max_atoms`` is finished at once with status ``skipped`` in
    every group. Tasks go molecule by molecule; ``on_done(index)`` is called once all groups of molecule
    ``index`` are finished (in completion order); ``on_idle()`` at least every second while checks
    run (e.g. to write what is finished). ``rows``: rows to add the values to (new ones if None).
    Returns the rows and CPU seconds per group (a timeout counts as the limit).
    """
    rows = [{} for _ in blocks] if rows is None else rows
    seconds = dict.fromkeys(names, 0.0)
    if not blocks or not names:
        return rows, seconds
    remaining = [len(names)] * len(blocks)

    def finish(index: int, group: str, row: dict, status: str) -> None:
        rows[index].update(row)
        rows[index][status_key(group)] = status
        remaining[index] -= 1
        if remaining[index] == 0 and on_done is not None:
            on_done(index)

    skipped = {i: reason for i, block in enumerate(blocks) if (reason := too_large(block, options))}
    for index, reason in skipped.items():
        for group in names:
            finish(index, group, {f"{group}.skip_reason": reason}, SKIPPED)
    todo = [(i, name) for i in range(len(blocks)) if i not in skipped for name in names]
    if not todo:
        return rows, seconds
    warm_imports(names)
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    tasks = iter(todo)
    pool = [_Worker(context, options) for _ in range(max(1, min(workers, len(todo))))]

    def feed(worker: _Worker) -> None:
        task = next(tasks, None)
        if task is not None:
            worker.send(task[0], blocks[task[0]], task[1], options.time_limit_s)

    try:
        for worker in pool:
            feed(worker)
        while busy := [w for w in pool if w.task is not None]:
            deadline = min(w.task[2] for w in busy)
            ready = wait([w.conn for w in busy], timeout=min(1.0, max(0.0, deadline - time.monotonic())))
            if on_idle is not None:
                on_idle()
            for worker in busy:
                index, group, due = worker.task
                if worker.conn in ready:
                    try:
                        row, cpu = worker.conn.recv()
                    except EOFError:  # the worker died on this molecule
                        pool[pool.index(worker)] = worker = _replace(worker, context, options)
                        finish(index, group, {}, ERROR)
                    else:
                        seconds[group] += cpu
                        worker.task = None
                        finish(index, group, row, OK)
                elif time.monotonic() >= due:
                    pool[pool.index(worker)] = worker = _replace(worker, context, options)
                    seconds[group] += options.time_limit_s
                    finish(index, group, {}, TIMEOUT)
                else:
                    continue
                feed(worker)
    finally:
        for worker in pool:
            worker.stop(kill=worker.task is not None)
    return rows, seconds


def _replace(worker: _Worker, context, options: EvalOptions) -> _Worker:
    worker.stop(kill=True)
    return _Worker(context, options)
