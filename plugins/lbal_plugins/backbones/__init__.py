"""Reference backbone plugins, one module each."""
