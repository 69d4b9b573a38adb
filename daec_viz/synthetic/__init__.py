"""Data made here: the simulated top-down network, the bundled demo, the Learn page's
one- and two-dimensional signals."""
