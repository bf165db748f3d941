.PHONY: demo test bench
demo:  ## run the main job: broker + engine + simulated platforms
	scripts/demo.sh
test:  ## run the whole test suite (starts its own broker)
	scripts/test.sh
bench:  ## benchmark against the baselines
	scripts/bootstrap.sh && .venv/bin/q2c bench
