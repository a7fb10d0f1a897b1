"""Test-session settings shared by every test module."""


def pytest_configure(config):
    # The tests train tiny networks (SB3 smoke runs, reward models): one torch thread is fastest for them, and a
    # second would only contend with the other process a test starts. The local LLM backend sets its own count.
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1)
