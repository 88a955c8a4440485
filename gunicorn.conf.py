"""gunicorn settings for production: gunicorn wsgi:app (values may be overridden by GUNICORN_CMD_ARGS)."""

import multiprocessing

bind = "0.0.0.0:8000"
workers = multiprocessing.cpu_count() * 2 + 1
worker_class = "gthread"
threads = 4
timeout = 30
graceful_timeout = 30  # on SIGTERM, in-flight requests get this long to finish
keepalive = 5
max_requests = 5000  # recycle workers now and then to bound memory
max_requests_jitter = 500
forwarded_allow_ips = "127.0.0.1"
# The access log records the path without the query string, and the logger class removes
# invitation tokens from /s/<token> paths (privacy rule: no token in a log line).
logger_class = "app.logs.RedactingGunicornLogger"
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
errorlog = "-"
