"""context_course: the course product, the only package that knows all three libraries.

The ``context-course`` CLI (``context_course.cli``), the learner workspace, ``submit``, the
check panel and progress, the demo and the learner-wheel build live here; the libraries it
drives are ``context_lib`` (what the course teaches), ``grader`` (judging) and
``certificates`` (credentials).
"""
