"""A plugin whose import fails, as a plugin with a missing dependency would."""

import lbal_no_such_dependency  # noqa: F401
