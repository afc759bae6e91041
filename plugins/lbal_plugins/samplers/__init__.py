"""Reference sampler plugins, one module each."""
