"""The serving runtime's tests: run once, in the template's repository, over schemas of every shape."""
