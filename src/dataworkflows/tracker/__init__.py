"""The mock Task Tracker: a stand-in for the proprietary task tracking system.

``dataworkflows serve tracker`` serves :func:`dataworkflows.tracker.app.create_tracker_app`:
``POST /api/auth/login`` trades the configured username and password for an HS256
JWT, and ``/api/tasks`` offers create, read, list, replace and delete of tasks kept
in memory (:class:`dataworkflows.tracker.store.TaskStore`), for that token only.
"""
