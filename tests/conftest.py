import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("default", deadline=None, max_examples=60,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", deadline=None, max_examples=60, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "default")


@pytest.fixture(params=None)
def isa(request):  # overridden by pytest_generate_tests
    return request.param


def pytest_generate_tests(metafunc):
    if "isa" in metafunc.fixturenames:
        from accelsim import kernels
        metafunc.parametrize("isa", kernels.available_isas(), indirect=True)
