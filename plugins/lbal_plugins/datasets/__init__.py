"""Reference dataset plugins, one module each."""
