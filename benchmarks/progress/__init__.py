"""Experiment drivers of the progress family: episode traces and plots (`trace`), the baseline table (`table`)."""
