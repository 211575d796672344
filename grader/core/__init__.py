"""Grade one notebook: sandbox, executor, restore, checks, reference values, verdict."""
