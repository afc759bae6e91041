"""Reference evaluator plugins, one module each."""
