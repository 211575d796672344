"""The course hub: Context Course as a JupyterHub service.

When a class runs on JupyterHub, submissions enter only through this service, and a
learner's identity is the one the hub proved at login (its OAuth cookie or a hub API
token), never a string the learner sends. Modules:

- :mod:`~context_course.hub.rules`: due dates, late policy, daily limits, feedback release
  (``[hub]`` in ``course.toml``);
- :mod:`~context_course.hub.queue`: the durable submission queue in the gradebook database;
- :mod:`~context_course.hub.worker`: grades queued submissions through the pipeline;
- :mod:`~context_course.hub.service`: the HTTP service (Hub OAuth, learner and instructor
  pages, the JSON API);
- :mod:`~context_course.hub.launch`: ``context-course hub up`` (JupyterHub, proxy and
  service on one machine) and its password file.
"""
