"""`bot review`: a local web page where a person looks at frames and chooses one.

`app.create_app` builds the FastAPI application (Jinja2 templates with autoescaping, a little
JavaScript for keyboard and click selection); `auth` holds the token checks; `views` reads what
the pages show from the store. Choosing and rejecting call the same functions as the CLI
(`bot.pipeline.choose_stage`).
"""
