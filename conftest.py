"""Root test configuration shared by every app's tests."""

import os

# Playwright's sync API runs an event loop in the test thread; Django's ORM refuses to run inside one
# unless told otherwise. Tests only (see ../shared/docs/recipes.md §1); never set in production.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytest_plugins = ["civicgrid.testing.fixtures"]
