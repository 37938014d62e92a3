"""One-thread BLAS for the simulation engine's tiny matrix products (used by the simulation executors and
the bivariate isotonic regression of the combination designs)."""

from __future__ import annotations

_BLAS: list = []


def single_threaded_blas():
    """A context limiting BLAS to one thread (threadpoolctl, if installed; else no limit).

    The engine's BLAS calls are tiny (CRM posteriors): OpenBLAS threads only spin and compete with the
    other workers; one thread halves the CPU time of CRM simulations on 2 cores.  Results do not
    depend on it."""
    if not _BLAS:
        try:
            from threadpoolctl import ThreadpoolController

            _BLAS.append(ThreadpoolController())  # introspection of the loaded libraries: once per process
        except ImportError:
            _BLAS.append(None)
    controller = _BLAS[0]
    if controller is None:
        import contextlib

        return contextlib.nullcontext()
    return controller.limit(limits=1, user_api="blas")
