"""Profiling on a cluster: one plan, N shards, one job per shard, through submitit (Slurm job arrays).

It lives with the command line because what it submits are ``vlmsel`` commands (:func:`run_command`
calls ``vlmsel.cli.main``); the claims that let the jobs share a store are :mod:`vlmsel.jobs`'.

A plan of (model, dataset) entries is split into N shards of about equal estimated cost
(:func:`vlmsel.profiles.compute.shard_plan`); each shard is one job that runs the same ``vlmsel profile``
command with ``--shard i/N`` into the same store. Nothing else coordinates the jobs: each entry is
claimed by the process computing it (:func:`vlmsel.files.try_claim`) and written atomically, so jobs
may die, be requeued or run twice, and a rerun of the submitting command submits only the shards that
still have missing entries.

**Why submitit.** Slurm job arrays are how research groups run many GPU jobs; `submitit
<https://github.com/facebookincubator/submitit>`_ submits a Python function as a Slurm array
(``executor.map_array``) with a few pure-Python dependencies, and its ``local`` executor runs the very
same jobs as local processes, which is how the tests exercise the whole path without a cluster. Ray
needs a running cluster and a much larger install; with ``--shard`` it is a few lines (the chapter
:ref:`ch-paper-scale` shows them), as is a hand-written ``sbatch --array`` script.

The jobs are ``vlmsel`` commands, not pickled models: a job needs only vlmsel installed where it runs
and the store on a shared file system (claims are ``flock`` locks: NFS v4 and Lustre honour them; see
the chapter).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

#: The engines :func:`submit_commands` knows: submitit's executors.
ENGINES = ("slurm", "local")


def run_command(argv: Sequence[str], cwd: str | os.PathLike | None = None) -> int:
    """Run ``vlmsel ARGV`` (in ``cwd``) in this process: what each submitted job does. Raises
    RuntimeError when the command fails, so that the job is reported as failed."""
    from vlmsel.cli import main

    if cwd is not None:
        os.chdir(cwd)
    code = main(list(argv))
    sys.stdout.flush()
    if code != 0:
        raise RuntimeError(f"`vlmsel {' '.join(argv)}` exited with status {code}")
    return code


def _executor(engine: str, folder: Path, parameters: Mapping[str, Any]):
    try:
        import submitit
    except ImportError:
        raise ValueError("--submit needs submitit: pip install 'vlmsel[cluster]' (or pip install submitit)") from None
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {ENGINES}")
    executor = submitit.AutoExecutor(folder=str(folder), cluster=engine)
    executor.update_parameters(**dict(parameters))
    return executor


@dataclass
class Submitted:
    """One submitted job: ``shard`` (its index), ``job`` (a submitit Job), ``argv`` (the vlmsel command)."""

    shard: int
    job: Any
    argv: list[str]

    @property
    def job_id(self) -> str:
        return str(self.job.job_id)


def submit_commands(
    argvs: Mapping[int, Sequence[str]],
    *,
    engine: str = "slurm",
    folder: str | os.PathLike,
    parameters: Mapping[str, Any] | None = None,
) -> list[Submitted]:
    """Submit one job per command, as one job array (``map_array``), through submitit.

    Parameters
    ----------
    argvs : shard index -> the ``vlmsel`` arguments that shard's job runs.
    engine : ``"slurm"`` (``sbatch``; needs a Slurm cluster) or ``"local"`` (local processes, for tests).
    folder : submitit's folder (job pickles and logs, ``%j`` expanded by submitit).
    parameters : passed to ``AutoExecutor.update_parameters`` (``timeout_min``, ``gpus_per_node``,
        ``slurm_partition``, ``slurm_array_parallelism``, ...).

    Returns
    -------
    The jobs, in shard order.
    """
    shards = sorted(argvs)
    if not shards:
        return []
    executor = _executor(engine, Path(folder), parameters or {})
    cwd = os.getcwd()
    commands = [list(argvs[i]) for i in shards]
    jobs = executor.map_array(run_command, commands, [cwd] * len(commands))
    return [Submitted(i, job, argv) for i, job, argv in zip(shards, jobs, commands)]


def wait(submitted: Sequence[Submitted]) -> dict[int, str]:
    """Wait for every job; shard -> ``""`` when it succeeded, else one line saying why it failed."""
    failures: dict[int, str] = {}
    for s in submitted:
        try:
            s.job.result()
        except Exception as err:  # submitit's FailedJobError / UncompletedJobError, or a lost job
            lines = [x for x in str(err).strip().splitlines() if x.strip()]
            last = next((x for x in reversed(lines) if "Error" in x), lines[-1] if lines else type(err).__name__)
            failures[s.shard] = f"{type(err).__name__}: {last.strip()}"
    return {s.shard: failures.get(s.shard, "") for s in submitted}
