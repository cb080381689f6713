import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    # Tiny networks train faster on one thread than on a contended pool.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
