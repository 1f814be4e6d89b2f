# The two commands of the README quick start.
.PHONY: demo test setup

demo: setup
	.venv/bin/opsradar demo

test: setup
	scripts/test.sh

setup:
	scripts/bootstrap.sh
