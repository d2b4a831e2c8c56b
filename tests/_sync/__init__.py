# This file is generated from tests/_async/__init__.py by tools/generate.py (unasync).
# Do not edit it by hand: change the async source and run `nox -s generate`.
