"""Background work (notifications: push, email), run as Django Tasks by the job
workers (`manage.py db_worker`, or a thread of the embedded default's server):
never in a socket's path."""
