"""Banks and payment institutions: the directory, and (later) one adapter per bank behind one interface."""
