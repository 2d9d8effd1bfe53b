"""The benchmark (a developer tool; nothing in the app imports it): `python -m bench`."""
