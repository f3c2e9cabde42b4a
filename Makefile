# The two commands that set everything up: `make up` runs the stack, `make test` runs the tests.
# Both first make sure this machine has what they need (Docker engine, Compose v2, base images,
# the host virtualenv), and say so when they install anything.

SHELL := bash
.SHELLFLAGS := -o errexit -o nounset -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

VENV := .venv
BIN := $(VENV)/bin
GATEWAY_PORT ?= 8080
SERVICE ?= api
REPLICAS ?= 2
# Extra pytest arguments for one suite, e.g. make test-integration ARGS="-k vote -x".
ARGS ?=

# Written by tools/ensure-base-images: the official base images, or offline stand-ins if no
# registry can be reached. docker compose reads .env by itself (so plain `docker compose`
# commands use the same images); exported too, so the builds get them as arguments.
-include .env
export PYTHON_IMAGE NGINX_IMAGE POSTGRES_IMAGE REDIS_IMAGE GATEWAY_PORT

COMPOSE := docker compose
# The compose projects, files and ports of the test, drill and bench stacks, written once there
# (the Python driver in loadtest/polls_loadtest/stack reads the same file).
include loadtest/compose/stacks.mk

# The tests run their own stack: a separate compose project with fresh volumes and its own
# gateway port, so `make test` never touches the data of a stack started with `make up`. It also
# publishes PostgreSQL and Redis on loopback for the host's pytest (docker-compose.test.yml), and
# relaxes the limits for the load test it runs (docker-compose.load.yml).
TEST_TARGETS := test test-stack-up test-stack-down test-integration test-e2e loadtest-test
$(TEST_TARGETS): export COMPOSE_PROJECT_NAME := $(STACK_TEST_PROJECT)
$(TEST_TARGETS): export COMPOSE_FILE := $(STACK_TEST_FILES)
$(TEST_TARGETS): export GATEWAY_PORT := $(STACK_TEST_PORT)

PHONY_INTERNAL := stack-up chaos-stack-up release-stack-up ensure-wrk
.PHONY: $(PHONY_INTERNAL) lint format help up down logs seed backup restore reset scale test test-stack-up test-stack-down test-gateway test-integration test-e2e lock base-images prerequisites clean

help: ## List every target
	@awk 'BEGIN {FS = ":.*## "} /^[a-z0-9-]+:.*## / {printf "  make %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# `make up` runs the production limits. LOAD=1 starts the same stack with the relaxed limits a
# load test from one address needs (docker-compose.load.yml); a later `make up` restores them.
LOAD ?=
ifeq ($(LOAD),1)
up stack-up: export COMPOSE_FILE := docker-compose.yml:docker-compose.load.yml
endif

# up and test run their compose steps in a sub-make, which reads the .env that the
# prerequisites step has just written. Before anything is written or started, up stops if the
# stack's data volume exists but secrets.env, with its password, does not (a second clone, or
# after `git clean -fdx`): tools/check-data-secrets says what happened and the ways out.
up: ## Build and start the whole stack, wait until healthy, print the URLs (LOAD=1: relaxed limits for load tests)
	tools/ensure-docker
	tools/check-data-secrets secrets.env
	$(MAKE) prerequisites
	$(MAKE) stack-up

stack-up:
	$(COMPOSE) up --build --detach --wait --remove-orphans
	@echo
	@if [ "$(LOAD)" = 1 ]; then \
	  echo "LOAD=1: limits relaxed for load tests (k8s/components/loadtest/relaxed-limits.env)."; \
	  echo "        Never expose this stack; \`make up\` without LOAD restores the production limits."; \
	else \
	  echo "Production limits on (logins, API throttles, exports); \`make up LOAD=1\` relaxes them for load tests."; \
	fi
	@echo "The polls stack is up:"
	@echo "  site       http://127.0.0.1:$(GATEWAY_PORT)/"
	@echo "  API docs   http://127.0.0.1:$(GATEWAY_PORT)/api/docs/"
	@echo "  admin      http://127.0.0.1:$(GATEWAY_PORT)/admin/"
	@echo "Demo data: make seed. Logs: make logs. Stop: make down."

down: ## Stop the stack (data stays in the postgres volume; `docker compose down -v` drops it)
	$(COMPOSE) down --remove-orphans

logs: ## Follow the logs of every service (SERVICE=api for one)
	$(COMPOSE) logs --follow --tail=100 $(if $(filter command line,$(origin SERVICE)),$(SERVICE))

seed: ## Fill the running stack's database with demo users (published password: demo stacks only), polls and votes
	$(COMPOSE) run --rm --no-deps migrate python manage.py seed --allow-public-password

# PostgreSQL dumps of the running stack (docs/operations.md); backups/ is git-ignored.
backup: ## Dump the running stack's database to backups/polls-<UTC time>.dump (or FILE=...)
	tools/backup $(FILE)

restore: ## Restore a dump into the running stack after confirming: make restore FILE=... (CONFIRM=yes)
	tools/restore $(FILE)

reset: ## Delete the stack's containers and data volumes after confirming, so make up starts empty (CONFIRM=yes)
	tools/reset

scale: ## Run REPLICAS replicas of SERVICE, e.g. make scale SERVICE=api REPLICAS=3
	@case "$(SERVICE)" in beat|migrate|postgres|redis) \
	  echo "$(SERVICE) does not scale: see the README's service table."; exit 2;; esac
	$(COMPOSE) up --detach --wait --no-recreate --scale $(SERVICE)=$(REPLICAS) $(SERVICE)

test: prerequisites ## Run the whole test suite: manifests, gateway, unit and integration, end to end, load, drills
	$(MAKE) k8s-validate test-gateway test-stack-up test-integration test-e2e loadtest-test test-stack-down
	$(MAKE) chaos-test
	$(MAKE) release-test

test-gateway: ## (part of test) the gateway image against fake replicas on its own network
	$(BIN)/pytest gateway/tests -p no:cacheprovider

test-stack-up: ## Start the test stack (project polls-test, fresh volumes) for test-integration and test-e2e
	$(COMPOSE) down --volumes --remove-orphans
	$(COMPOSE) up --build --detach --wait

# Frees the machine's CPU for the drills, which measure what users see under load.
test-stack-down: ## Stop the test stack and delete its volumes
	$(COMPOSE) down --volumes --remove-orphans

PYTHON_DIRS := services loadtest k8s tools gateway
lint: $(VENV)/.installed ## Lint all Python: ruff's rules and formatter (ruff.toml); `make format` fixes what it can
	$(BIN)/ruff check $(PYTHON_DIRS)
	$(BIN)/ruff format --check $(PYTHON_DIRS)

format: $(VENV)/.installed ## Format all Python and sort imports (ruff.toml)
	$(BIN)/ruff check --fix --select I $(PYTHON_DIRS)
	$(BIN)/ruff format $(PYTHON_DIRS)

# lintmigrations: every migration must be safe while the previous release still runs
# (docs/releases.md; its options and justified exceptions are in services/pyproject.toml).
test-integration: lint ## (part of test) migration linter, then pytest against real PostgreSQL, Redis and Celery
	cd services && set -a && . ../secrets.env && set +a && \
	  ../$(BIN)/lint-imports --no-cache && \
	  DJANGO_SETTINGS_MODULE=config.settings.test LOG_LEVEL=WARNING ../$(BIN)/python manage.py lintmigrations && \
	  ../$(BIN)/pytest -m "not e2e" -p no:cacheprovider $(ARGS)
	$(BIN)/pytest tools -p no:cacheprovider -o markers=docker

test-e2e: ## (part of test) pytest against the running stack through the gateway
	cd services && ../$(BIN)/pytest -m e2e -p no:cacheprovider $(ARGS)

lock: $(BIN)/uv ## Re-pin services/requirements*.lock from requirements*.in
	$(BIN)/uv pip compile --quiet --python-version 3.13 --generate-hashes \
	  services/requirements.in -o services/requirements.lock
	$(BIN)/uv pip compile --quiet --python-version 3.13 --generate-hashes \
	  services/requirements-dev.in -o services/requirements-dev.lock

base-images: ## Choose base images: official ones, or build offline stand-ins if none can be pulled
	tools/ensure-base-images .env

prerequisites: $(VENV)/.installed secrets.env
	tools/ensure-docker
	tools/ensure-compose $(VENV)
	tools/ensure-base-images .env

secrets.env:
	tools/make-secrets $@

# loadtest/ is a package of its own (loadtest/pyproject.toml), installed editable without its
# dependencies, which the lock pins; setuptools comes from the lock too (no build isolation), so
# this step needs no index.
$(VENV)/.installed: services/requirements-dev.lock loadtest/pyproject.toml
	@echo "Installing the host virtualenv $(VENV) (test tools, Compose v2, loadtest/) ..."
	test -x $(BIN)/python || "$$(tools/find-python)" -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r services/requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e loadtest
	touch $@

$(BIN)/uv: $(VENV)/.installed

clean: ## Stop the stack and delete its volumes, the virtualenv and generated files
	-$(COMPOSE) down --volumes --remove-orphans
	rm -rf $(VENV)
	-test -f .env && sed -i -E '/^(PYTHON|NGINX|POSTGRES|REDIS)_IMAGE=|^# base images: /d' .env

# Kubernetes (k8s/README.md). kubectl comes from PATH (its built-in
# kustomize renders offline); python tools from $(BIN) (.venv/bin).
OVERLAY ?= local
K8S_NAMESPACE := polls
KUBECTL := kubectl

.PHONY: k8s-render k8s-validate k8s-apply k8s-dev k8s-dev-down k8s-scale k8s-cluster-check

k8s-render: ## Print the manifests of an overlay, e.g. make k8s-render OVERLAY=production
	@test -d k8s/overlays/$(OVERLAY) || { echo "No overlay k8s/overlays/$(OVERLAY) (local, production)."; exit 2; }
	@$(KUBECTL) kustomize k8s/overlays/$(OVERLAY)

k8s-validate: ## Render every overlay and component combination; schema, policy, parity and checkov tests
	$(BIN)/pytest k8s/tests -p no:cacheprovider
	@# Where a cluster answers, its API server checks the overlay too (admission, CRDs, quotas),
	@# without changing anything. Needs the namespace; the production overlay also needs KEDA's CRDs.
	@if $(KUBECTL) version --request-timeout=5s >/dev/null 2>&1; then \
	  echo "Server-side dry run of k8s/overlays/$(OVERLAY) on context $$($(KUBECTL) config current-context):"; \
	  $(KUBECTL) apply --dry-run=server -k k8s/overlays/$(OVERLAY) >/dev/null && echo "  accepted."; \
	else \
	  echo "No Kubernetes cluster answers: skipped the server-side dry run (kubectl apply --dry-run=server)."; \
	fi

# Refuse clearly, before anything is sent, when kubectl has no cluster that answers.
k8s-cluster-check:
	@$(KUBECTL) version --request-timeout=5s >/dev/null 2>&1 || { \
	  echo "No Kubernetes cluster answers (kubectl context: $$($(KUBECTL) config current-context 2>/dev/null || echo none))."; \
	  echo "Create one (k8s/README.md: kind or k3d) or select it with kubectl config use-context."; \
	  exit 1; }

k8s-apply: k8s-cluster-check ## Apply an overlay to the current cluster and wait for the rollout (OVERLAY=local)
	@test -d k8s/overlays/$(OVERLAY) || { echo "No overlay k8s/overlays/$(OVERLAY) (local, production)."; exit 2; }
	@# The Secret is never in the kustomization: locally it is made from secrets.env, the file
	@# compose uses; in production it must exist already. Then wait for this release's migrate Job.
	KUBECTL="$(KUBECTL)" SECRETS_ENV=$(if $(filter local,$(OVERLAY)),secrets.env) k8s/apply k8s/overlays/$(OVERLAY)

# DRY_RUN=1 prints every command instead of running it.
k8s-dev: ## Build images under a new tag, load them into the kind/minikube/k3d cluster, apply local, print the URL (DRY_RUN=1)
	@k8s/dev check
	$(if $(filter 1,$(DRY_RUN)),,$(MAKE) prerequisites)
	k8s/dev up

k8s-dev-down: ## Delete the namespace polls from the kind/minikube/k3d cluster of k8s-dev (DRY_RUN=1)
	k8s/dev down

k8s-scale: k8s-cluster-check ## Run REPLICAS pods of SERVICE on the cluster, e.g. make k8s-scale SERVICE=api REPLICAS=4
	@case "$(SERVICE)" in gateway|web|api|worker|static) ;; \
	  *) echo "$(SERVICE) does not scale (beat is exactly one; migrate is a Job; postgres/redis are not ours)."; exit 2;; esac
	@# An autoscaler owns the count when the autoscaling component is on: raise its minimum.
	@if $(KUBECTL) -n $(K8S_NAMESPACE) get scaledobject $(SERVICE) >/dev/null 2>&1; then \
	  echo "KEDA scales $(SERVICE): setting its minReplicaCount to $(REPLICAS)"; \
	  $(KUBECTL) -n $(K8S_NAMESPACE) patch scaledobject $(SERVICE) --type merge -p '{"spec":{"minReplicaCount":$(REPLICAS)}}'; \
	elif $(KUBECTL) -n $(K8S_NAMESPACE) get hpa $(SERVICE) >/dev/null 2>&1; then \
	  echo "An HPA scales $(SERVICE): setting its minReplicas to $(REPLICAS)"; \
	  $(KUBECTL) -n $(K8S_NAMESPACE) patch hpa $(SERVICE) --type merge -p '{"spec":{"minReplicas":$(REPLICAS)}}'; \
	else \
	  $(KUBECTL) -n $(K8S_NAMESPACE) scale deployment/$(SERVICE) --replicas=$(REPLICAS); \
	fi
	$(KUBECTL) -n $(K8S_NAMESPACE) rollout status deployment/$(SERVICE) --timeout=5m

# Load tests (loadtest/README.md).
# Every option has a default, e.g.:
#   make loadtest DURATION=60 RATE=200 USERS=20 MIX=browse:6,api:3,export:1 TARGET=http://127.0.0.1:8080
# Reports go to loadtest/reports/<timestamp>/ (git-ignored).

DURATION ?= 60
RATE ?= 50
USERS ?= 20
MIX ?= browse:6,api:3,export:1
TARGET ?= http://127.0.0.1:$(GATEWAY_PORT)
# More options of the client, e.g. LOADTEST_ARGS="--arrival poisson --timeout 5"; a target that
# is not loopback needs --allow-remote (only a cluster you run yourself).
LOADTEST_ARGS ?=
LOADTEST := $(BIN)/python -m polls_loadtest.load

.PHONY: loadtest loadtest-test

loadtest: ## Open-loop load through the gateway, live progress, HTML/PNG/JSON report (RATE USERS MIX...)
	$(LOADTEST) --target $(TARGET) --duration $(DURATION) --rate $(RATE) --users $(USERS) --mix $(MIX) \
	  $(LOADTEST_ARGS)

loadtest-test: ## (part of test) short low-rate load run on the test stack: report complete, zero errors
	LOADTEST_TARGET=$${LOADTEST_TARGET:-http://127.0.0.1:$(GATEWAY_PORT)} \
	  $(BIN)/pytest loadtest/tests -m "not chaos" -p no:cacheprovider

# Failure drills (docs/resilience.md), on their own compose project and port, with short Celery
# time limits so redelivery fits in a drill (loadtest/compose/chaos.yml).
CHAOS_TARGETS := chaos chaos-test chaos-stack-up chaos-down
$(CHAOS_TARGETS): export COMPOSE_PROJECT_NAME := $(STACK_CHAOS_PROJECT)
$(CHAOS_TARGETS): export COMPOSE_FILE := $(STACK_CHAOS_FILES)
$(CHAOS_TARGETS): export GATEWAY_PORT := $(STACK_CHAOS_PORT)
$(CHAOS_TARGETS): export IMAGE_TAG := $(STACK_CHAOS_IMAGE_TAG)
DRILL ?=
.PHONY: chaos chaos-test chaos-down

# A stack whose run failed stays up to be looked at; one that passed is removed (the bench's own
# command does the same for polls-bench).
kept = echo; echo "Kept the $(1) stack to look at what failed: docker compose -p $(1) ps (or: logs SERVICE)."; \
  echo "Remove it with: make $(2)"

# A fresh stack for every run, as for the tests: drills start from a known state, and a stack
# left by another checkout (other secrets.env, same project name) cannot get in the way.
define fresh-stack
	$(COMPOSE) down --volumes --remove-orphans
	$(COMPOSE) up --build --detach --wait --remove-orphans
	$(COMPOSE) run --rm --no-deps migrate python manage.py seed --allow-public-password
endef
chaos-stack-up:
	$(fresh-stack)

chaos: prerequisites ## Failure drills under load: verdict table and HTML report (DRILL=name for one)
	$(MAKE) chaos-stack-up
	@# Silent: echoing the line would print the "Kept ..." message of a failure on every run.
	@echo "python -m polls_loadtest.drills $(if $(DRILL),--drill $(DRILL))"
	@$(BIN)/python -m polls_loadtest.drills $(if $(DRILL),--drill $(DRILL)) || { $(call kept,$(COMPOSE_PROJECT_NAME),chaos-down); exit 1; }
	$(MAKE) chaos-down

chaos-test: prerequisites ## (part of test) The failure drills as pytest tests (marker chaos) on the polls-chaos stack
	$(MAKE) chaos-stack-up
	@echo "pytest loadtest/tests/test_drills.py -m chaos"
	@CHAOS_REQUIRED=1 $(BIN)/pytest loadtest/tests/test_drills.py -m chaos -p no:cacheprovider || \
	  { $(call kept,$(COMPOSE_PROJECT_NAME),chaos-down); exit 1; }
	$(MAKE) chaos-down

chaos-down: ## Remove the drill stack (polls-chaos), e.g. one kept after a failed drill
	$(COMPOSE) down --volumes --remove-orphans

# The release drill (docs/releases.md): releases N+1 (expand) and N+2 (contract) built from
# services/ plus loadtest/release/, rolled out under load on a fresh stack of its own (polls-release,
# 127.0.0.1:48080), because it changes the schema.
RELEASE_TARGETS := release-drill release-test release-stack-up release-down
$(RELEASE_TARGETS): export COMPOSE_PROJECT_NAME := $(STACK_RELEASE_PROJECT)
$(RELEASE_TARGETS): export COMPOSE_FILE := $(STACK_RELEASE_FILES)
$(RELEASE_TARGETS): export GATEWAY_PORT := $(STACK_RELEASE_PORT)
$(RELEASE_TARGETS): export IMAGE_TAG := $(STACK_RELEASE_IMAGE_TAG)
# UNSAFE=1: the same release with an unsafe migration, to see what users would get (the run passes
# when the errors show).
UNSAFE ?=
.PHONY: release-drill release-test release-down

release-stack-up:
	$(fresh-stack)

release-drill: prerequisites ## Release N -> N+1 (expand) -> N+2 (contract) under load, HTML timeline (UNSAFE=1: an unsafe migration)
	$(MAKE) release-stack-up
	@echo "python -m polls_loadtest.drills.release $(if $(UNSAFE),--unsafe)"
	@$(BIN)/python -m polls_loadtest.drills.release $(if $(UNSAFE),--unsafe) || \
	  { $(call kept,$(COMPOSE_PROJECT_NAME),release-down); exit 1; }
	$(MAKE) release-down

release-test: prerequisites ## (part of test) The release drill as a pytest test (marker chaos) on the polls-release stack
	$(MAKE) release-stack-up
	@echo "pytest loadtest/tests/test_release_drill.py -m chaos"
	@CHAOS_REQUIRED=1 $(BIN)/pytest loadtest/tests/test_release_drill.py -m chaos -p no:cacheprovider || \
	  { $(call kept,$(COMPOSE_PROJECT_NAME),release-down); exit 1; }
	$(MAKE) release-down

release-down: ## Remove the release drill's stack (polls-release) and the images of its releases
	$(COMPOSE) down --volumes --remove-orphans
	docker image rm --force $(foreach t,web api worker,$(foreach r,n1 n2 unsafe,polls/$(t):$(IMAGE_TAG)-$(r))) 2>/dev/null || true

# Benchmarks (loadtest/polls_loadtest/bench/README.md). `make bench` runs its own compose project,
# polls-bench (gateway on 127.0.0.1:38080), and writes loadtest/reports/bench-<time>/bench.{md,json};
# a complete run is also copied to loadtest/reports/bench-latest/ for `make capacity`. About 15
# minutes on the 2-core machine; BENCH_ARGS=--quick for a shorter smoke run, --only floor,static,...
# for some phases, --keep to leave the stack running (a failed run always leaves it).
BENCH_ARGS ?=
PROFILE_ARGS ?=
TARGET_RPS ?= 200
P99_MS ?= 50
SWEEP_URL ?= http://127.0.0.1:$(GATEWAY_PORT)/api/polls/
BENCH := $(BIN)/python -m polls_loadtest.bench

.PHONY: bench bench-down profile capacity capacity-reference wrk-sweep ensure-wrk loadtest-image

bench: prerequisites ensure-wrk ## Every performance figure side by side in one run: Markdown + JSON report (BENCH_ARGS)
	$(BENCH) $(BENCH_ARGS)

bench-down: export COMPOSE_PROJECT_NAME := $(STACK_BENCH_PROJECT)
bench-down: export COMPOSE_FILE := $(STACK_BENCH_FILES)
bench-down: ## Remove the benchmark stack (polls-bench), e.g. one kept after a failed run or --keep
	$(COMPOSE) down --volumes --remove-orphans

profile: prerequisites ensure-wrk ## The bench's profile phase alone: py-spy flame graphs of api and web under wrk (as root)
	$(BENCH) --only profile $(PROFILE_ARGS)

capacity: $(VENV)/.installed ## Replicas and PostgreSQL budget for TARGET_RPS at P99_MS, from the latest bench (else the committed reference run)
	$(BENCH).capacity --target-rps $(TARGET_RPS) --p99-ms $(P99_MS)

capacity-reference: $(VENV)/.installed ## Copy the latest complete bench run into the committed reference `make capacity` falls back to
	$(BENCH).capacity --save-reference

wrk-sweep: ensure-wrk ## wrk throughput and latency at 1..64 connections against SWEEP_URL (a loopback URL)
	$(BENCH).sweep --url $(SWEEP_URL)

# wrk is a Debian package: installed here when missing on a Debian-like machine as root.
ensure-wrk:
	@command -v wrk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "wrk is missing: installing the Debian package wrk (apt-get install wrk) ..."; \
	    apt-get install -y --no-install-recommends wrk >/dev/null 2>&1 || \
	      { apt-get update -q && apt-get install -y --no-install-recommends wrk; }; \
	  else \
	    echo "wrk is missing: install it (Debian/Ubuntu: sudo apt-get install wrk) and run again."; exit 1; \
	  fi; }

loadtest-image: prerequisites ## Build the load client image of k8s/components/loadtest (polls/loadtest:dev)
	docker build -t polls/loadtest:$${IMAGE_TAG:-dev} --build-arg PYTHON_IMAGE loadtest/
