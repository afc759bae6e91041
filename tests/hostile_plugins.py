"""The ``plugin_dirs`` fixture of conftest, with lbal-hostile added: plugins that exit, hang,
write into the features, return what no record can hold, or lie in their flags and
fingerprints. A test module imports the fixture to make ``use_plugins("hostile")`` work."""

import pytest

from conftest import _pip_install


@pytest.fixture(scope="session")
def plugin_dirs(plugin_dirs, tmp_path_factory):
    """conftest's test distributions, and lbal-hostile."""
    return {**plugin_dirs, "hostile": _pip_install(tmp_path_factory.mktemp("site") / "hostile", "lbal-hostile")}
