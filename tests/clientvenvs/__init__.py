"""Client libraries that cannot share the main venv (see conftest.py and install.py)."""
