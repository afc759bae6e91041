"""The reference plugins of lbal-bench: the paper's methods, registered through the
``lbal_bench`` entry-point group exactly like a third party's plugins."""
