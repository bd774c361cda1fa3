import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("default", deadline=None, max_examples=60,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", deadline=None, max_examples=60, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "default")


def pytest_configure(config):
    """compare's row cache in a fresh directory per test session (inherited by subprocesses): the
    tests never read rows a previous session stored, nor write into the user's ~/.cache."""
    import tempfile
    os.environ["ACCELSIM_CACHE_DIR"] = tempfile.mkdtemp(prefix="accelsim-test-cache-")


@pytest.fixture(params=None)
def isa(request):  # overridden by pytest_generate_tests
    return request.param


def pytest_generate_tests(metafunc):
    if "isa" in metafunc.fixturenames:
        from accelsim import kernels
        metafunc.parametrize("isa", kernels.available_isas(), indirect=True)


EXAMPLE_GENERATORS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples",
                                  "generators.py")


def load_example_generators():
    """examples/generators.py (the paper generators: CycleGAN, pix2pix, SRResNet, ESRGAN, DCGAN,
    conditional DCGAN) as a module; it needs torch."""
    import importlib.util
    pytest.importorskip("torch")
    spec = importlib.util.spec_from_file_location("accelsim_example_generators", EXAMPLE_GENERATORS)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="session")
def gens():
    return load_example_generators()
