# APN Link Watch: build, test, demo and deploy. `make` alone lists the targets.
#
# Python tools live in their own virtualenvs, pinned, so they never fight over dependencies:
#   .venv/                 moto (the AWS emulator the tests and the demo run against) + boto3
#   .venv-tools/<tool>/    cfn-lint, aws-sam-cli, checkov, cargo-lambda (+ zig)
# Each install is skipped when its pinned version is already there.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
MOTO_VERSION := 5.2.5
CFN_LINT_VERSION := 1.58.0
SAM_CLI_VERSION := 1.170.0
CHECKOV_VERSION := 3.3.30
CARGO_LAMBDA_VERSION := 1.9.2
ZIGLANG_VERSION := 0.17.1

VENV := .venv
TOOLS := .venv-tools
CFN_LINT := $(TOOLS)/cfn-lint/bin/cfn-lint
SAM := $(TOOLS)/sam/bin/sam
CHECKOV := $(TOOLS)/checkov/bin/checkov
LAMBDA_BIN := $(TOOLS)/cargo-lambda/bin

# sam must not phone home nor look for real credentials: validation is offline.
SAM_ENV := SAM_CLI_TELEMETRY=0 AWS_EC2_METADATA_DISABLED=true AWS_DEFAULT_REGION=us-east-1 \
	AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
	AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
TEMPLATES := template.yaml $(wildcard infra/*.yaml)
HAVE_NEXTEST := $(shell cargo nextest --version >/dev/null 2>&1 && echo yes)

.PHONY: help setup venv tools fmt-check clippy unit integration test soak templates template-params sam-build-check demo report-screenshot build sam-build deploy deploy-guided require-samconfig bench moto-stop

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# ---------------------------------------------------------------------------------------------
# Python environments. A stamp file named after the pinned version makes the install idempotent
# and re-runs it when the pin changes.

venv: $(VENV)/.moto-$(MOTO_VERSION) ## Create .venv with the pinned moto[server] (skipped when present)

$(VENV)/.moto-$(MOTO_VERSION):
	@if [[ -x $(VENV)/bin/moto_server ]] && $(VENV)/bin/python -c 'import importlib.metadata as m, sys; sys.exit(m.version("moto") != "$(MOTO_VERSION)")' 2>/dev/null; then \
		echo "moto $(MOTO_VERSION) already in $(VENV)"; \
	else \
		[[ -x $(VENV)/bin/python ]] || $(PYTHON) -m venv $(VENV); \
		$(VENV)/bin/pip install --quiet --disable-pip-version-check 'moto[server]==$(MOTO_VERSION)'; \
	fi
	@touch $@

# One venv per tool; the .gitignore written inside keeps them out of git.
define tool_venv
$(TOOLS)/$(1)/.installed-$(2):
	@mkdir -p $(TOOLS) && echo '*' > $(TOOLS)/.gitignore
	@[[ -x $(TOOLS)/$(1)/bin/python ]] || $(PYTHON) -m venv $(TOOLS)/$(1)
	$(TOOLS)/$(1)/bin/pip install --quiet --disable-pip-version-check $(3)
	@touch $$@
endef
$(eval $(call tool_venv,cfn-lint,$(CFN_LINT_VERSION),'cfn-lint==$(CFN_LINT_VERSION)'))
$(eval $(call tool_venv,sam,$(SAM_CLI_VERSION),'aws-sam-cli==$(SAM_CLI_VERSION)'))
$(eval $(call tool_venv,checkov,$(CHECKOV_VERSION),'checkov==$(CHECKOV_VERSION)'))
$(eval $(call tool_venv,cargo-lambda,$(CARGO_LAMBDA_VERSION),'cargo-lambda==$(CARGO_LAMBDA_VERSION)' 'ziglang==$(ZIGLANG_VERSION)'))

TOOL_STAMPS := $(TOOLS)/cfn-lint/.installed-$(CFN_LINT_VERSION) \
	$(TOOLS)/sam/.installed-$(SAM_CLI_VERSION) \
	$(TOOLS)/checkov/.installed-$(CHECKOV_VERSION)

tools: $(TOOL_STAMPS) ## Install the pinned template checkers (cfn-lint, aws-sam-cli, checkov)

# The one set-up `cargo test` needs: moto for the integration tests, the pinned sam for the
# deploy-path tests, cargo-lambda for the Lambda end-to-end tests. Each part is skipped when
# its pinned version is already there.
setup: venv tools $(TOOLS)/cargo-lambda/.installed-$(CARGO_LAMBDA_VERSION) ## Everything plain `cargo test` needs (moto, sam, cfn-lint, checkov, cargo-lambda): run once

# ---------------------------------------------------------------------------------------------
# Rust checks and tests

fmt-check: ## Check formatting (cargo fmt --check)
	cargo fmt --all -- --check

clippy: ## Lint every target; warnings are errors
	cargo clippy --workspace --all-targets -- -D warnings

unit: ## Unit tests only (library tests, no servers)
ifeq ($(HAVE_NEXTEST),yes)
	cargo nextest run --workspace --lib
else
	cargo test --workspace --lib
endif

# Tests share nothing but the machine: each starts its own servers and keeps the product's
# environment in its World, so plain `cargo test` runs them too; cargo-nextest, when
# installed, runs them faster (one process per test, all in parallel). The CLI binary is
# built first because tests run it as a user would; the Lambda end-to-end test needs
# cargo-lambda.
integration: venv $(TOOLS)/cargo-lambda/.installed-$(CARGO_LAMBDA_VERSION) ## All tests, integration ones included (moto + fake Partner Central + cargo lambda watch)
	cargo build --workspace --bins
ifeq ($(HAVE_NEXTEST),yes)
	cargo nextest run --workspace
else
	cargo test --workspace
endif

# The simulator (functions/snapshot/src/sim): `make test` plays 2,000 seeds as a unit test;
# `make soak SEEDS=100000` plays more, optimized (profile `soak`), from FIRST_SEED, and
# prints the figures the README quotes. A failure prints its seed and shrunk steps;
# `SIM_SEED=<n> cargo test -p apn-link-watch --lib sim::` replays it.
SEEDS ?= 100000
FIRST_SEED ?= 1
soak: ## Simulate SEEDS seeds (default 100000) of runs with faults, crashes and interleavings
	SIM_SEEDS=$(SEEDS) SIM_FIRST_SEED=$(FIRST_SEED) cargo test --profile soak -p apn-link-watch --lib \
		sim::tests::simulated_runs_keep_every_promise -- --nocapture

templates: $(TOOL_STAMPS) ## Lint the CloudFormation/SAM templates (cfn-lint, sam validate --lint, checkov)
	$(CFN_LINT) $(TEMPLATES)
	$(SAM_ENV) $(SAM) validate --lint --template-file template.yaml --region us-east-1
	$(CHECKOV) --framework cloudformation --skip-download --quiet --compact $(addprefix -f ,$(TEMPLATES))
	$(MAKE) template-params

# Every valid combination of the optional parameters, linted in one cfn-lint run through its
# parameter sets (infra/template_params.py writes them): conditions and Refs resolve to each
# set's values. That is all cfn-lint 1.58 does with them: it evaluates no `Rules` (E1701 checks
# their shape only) and, tried by hand, flagged no out-of-range value either, so the semantics
# (Rules, conditions, parameter constraints, invalid combinations included) are asserted by
# tests/tests/template_params.rs.
TEMPLATE_PARAMS := target/template-params
template-params: $(TOOLS)/cfn-lint/.installed-$(CFN_LINT_VERSION) ## cfn-lint template.yaml once per combination of the optional parameters
	@rm -rf $(TEMPLATE_PARAMS) && mkdir -p $(TEMPLATE_PARAMS)
	$(PYTHON) infra/template_params.py $(TEMPLATE_PARAMS)
	$(CFN_LINT) template.yaml --parameter-files $(TEMPLATE_PARAMS)/*.json

# `sam build` offline, as `make deploy` runs it, then a look at what it built. SAM's
# rust-cargolambda workflow passes --release unless SAM_BUILD_MODE=debug
# (aws_lambda_builders/workflows/rust_cargo/actions.py), and a debug build skips the minutes of
# LTO, so the check builds debug; the deploy targets build release.
sam-build-check: $(TOOLS)/sam/.installed-$(SAM_CLI_VERSION) $(TOOLS)/cargo-lambda/.installed-$(CARGO_LAMBDA_VERSION) ## sam build (debug, offline) and check the built template points at an arm64 bootstrap
	SAM_BUILD_MODE=debug $(MAKE) sam-build
	$(TOOLS)/sam/bin/python infra/sam_build_check.py $(SAM_BUILD)

# Template checks run before the tests so the test summary closes the output.
test: venv fmt-check clippy templates sam-build-check integration ## Everything CI runs: fmt, clippy, template checks, sam build check, all tests

# ---------------------------------------------------------------------------------------------
# Demo, build, deploy

demo: venv ## Run the CLI end to end against moto and the fake Partner Central
	bash infra/demo.sh

report-screenshot: venv ## target/report.html from 10,000 generated accounts (prints the report's reads and time), and its screenshots with headless Chromium (Debian package `chromium`)
	REPORT_HTML=$(CURDIR)/target/report.html cargo test -p integration-tests report_scale:: -- --ignored --nocapture
	for shot in 1100,2050:report.png 420,3000:report-narrow.png; do \
	  dir=$$(mktemp -d); \
	  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
	    --disable-component-update --disable-sync --user-data-dir=$$dir --hide-scrollbars \
	    --window-size=$${shot%%:*} --screenshot=$(CURDIR)/docs/$${shot##*:} file://$(CURDIR)/target/report.html; \
	  rm -rf $$dir; \
	done

moto-stop: ## Stop a moto server left running by infra/moto.sh
	bash infra/moto.sh stop

# `--package` keeps the build to the Lambda's own package: at the workspace root cargo would
# otherwise resolve features over every member, and the tests crate switches on `cli` and
# `test-util` (clap, the SSO crates, the fakes). SAM builds in functions/snapshot, which
# selects that package alone; infra/sam_build_check.py checks the bootstrap it built.
build: $(TOOLS)/cargo-lambda/.installed-$(CARGO_LAMBDA_VERSION) ## Build the Lambda (arm64) with cargo-lambda into target/lambda/snapshot/
	PATH="$(CURDIR)/$(LAMBDA_BIN):$$PATH" cargo lambda build --release --arm64 --package apn-link-watch --bin snapshot

# SAM's build output goes under target/ (ignored by git) instead of .aws-sam/.
SAM_BUILD := target/sam/build
# samconfig.toml lives at the repo root, never next to the built template: `sam deploy
# --template-file target/sam/build/template.yaml` would otherwise read and write it inside
# target/sam/build, which the next `sam build` empties, and `sam delete` run from the root
# (it reads [default.deploy.parameters] of ./samconfig.toml) would find no stack. sam resolves a
# relative --config-file against the template's directory, so the path is absolute. The file
# holds account-specific answers (role ARNs, email): .gitignore keeps it out of git.
SAM_CONFIG := $(CURDIR)/samconfig.toml
SAM_DEPLOY_ENV := SAM_CLI_TELEMETRY=0

sam-build: $(TOOLS)/sam/.installed-$(SAM_CLI_VERSION) $(TOOLS)/cargo-lambda/.installed-$(CARGO_LAMBDA_VERSION) ## sam build (cargo-lambda, arm64) into target/sam/build; SAM_BUILD_MODE=debug skips --release
	PATH="$(CURDIR)/$(LAMBDA_BIN):$$PATH" SAM_CLI_TELEMETRY=0 $(SAM) build --build-dir $(SAM_BUILD) --cache-dir target/sam/cache

# First deploy: asks for every parameter and saves the answers to ./samconfig.toml. sam refuses
# an explicit --config-file that does not exist yet, so an empty one is created first.
deploy-guided: sam-build ## First deploy: sam deploy --guided, answers saved to ./samconfig.toml (needs AWS credentials)
	@[[ -f $(SAM_CONFIG) ]] || echo 'version = 0.1' > $(SAM_CONFIG)
	$(SAM_DEPLOY_ENV) $(SAM) deploy --guided --template-file $(SAM_BUILD)/template.yaml --config-file $(SAM_CONFIG)

# Every later deploy: no questions, every parameter exactly as saved (edit samconfig.toml or run
# deploy-guided again to change one).
# (The config check is its own prerequisite, listed first, so a missing file stops before the
# build and `make -n deploy` still prints the sam command lines.)
deploy: require-samconfig sam-build ## Redeploy with the saved ./samconfig.toml, no questions (run make deploy-guided first)
	$(SAM_DEPLOY_ENV) $(SAM) deploy --template-file $(SAM_BUILD)/template.yaml --config-file $(SAM_CONFIG)

require-samconfig:
	@[[ -f $(SAM_CONFIG) ]] || { echo "no samconfig.toml at the repo root ($(SAM_CONFIG)): run 'make deploy-guided' once first" >&2; exit 2; }

bench: ## Run infra/bench.sh when there is one
	@if [[ -f infra/bench.sh ]]; then bash infra/bench.sh; else echo "no infra/bench.sh yet: nothing to benchmark"; fi
