"""A class's submissions: intake, catalog, gradebook, batch, feedback, report, roster, executors."""
