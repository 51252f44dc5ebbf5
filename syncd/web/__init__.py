"""The dashboard `syncd run` serves: a page that shows what the daemon does and settles it.

`token` keeps the access token, `security` judges each request (Host, token, CSRF) as pure
functions, `state` turns the daemon's activity and the pairs' stores into what the page
shows, `actions` carries out the page's buttons through the same functions as the CLI,
and `server` serves all of it, and the files of `static/`, from one thread of the daemon.
"""
