"""Fixtures of the domain tests."""

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture
def one_blas_thread():
    """One BLAS thread: many of them on a few busy cores are much slower than one."""
    with threadpool_limits(limits=1):
        yield
