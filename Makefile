# Thin aliases for ./dw, which installs everything it needs first.
.PHONY: dev test lint migrate ci

dev:  ## install, then run every component in one process
	./dw dev

test:  ## install, then run the whole test suite
	./dw test

lint:  ## ruff, mypy and the import layers as CI runs them
	./dw lint

migrate:  ## apply pending migrations (DATABASE_URL, or the embedded database)
	./dw migrate

ci:  ## what CI runs
	.ci/run
