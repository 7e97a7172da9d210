.PHONY: check
check:
	ruff check src tests bench
	ruff format --check src tests bench
	mypy src
	python -m pytest
