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

# Written by tools/base-images/ensure: the official base images, or offline stand-ins if no
# registry can be reached. Exported so compose passes them to the builds as arguments.
-include .base-images.env
export PYTHON_IMAGE NGINX_IMAGE POSTGRES_IMAGE REDIS_IMAGE GATEWAY_PORT

COMPOSE := docker compose

# The tests run their own stack: a separate compose project with fresh volumes and its own
# gateway port, so `make test` never touches the data of a stack started with `make up`. It also
# publishes PostgreSQL and Redis on loopback for the host's pytest (docker-compose.test.yml).
TEST_TARGETS := test test-stack-up test-integration test-e2e
$(TEST_TARGETS): export COMPOSE_PROJECT_NAME := polls-test
$(TEST_TARGETS): export COMPOSE_FILE := docker-compose.yml:docker-compose.test.yml
$(TEST_TARGETS): export GATEWAY_PORT := 18080

PHONY_INTERNAL := stack-up test-stack-up
.PHONY: $(PHONY_INTERNAL) help up down logs seed scale test test-integration test-e2e lock base-images prerequisites clean

help: ## List every target
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# up and test run their compose steps in a sub-make, which reads the .base-images.env that the
# prerequisites step has just written.
up: prerequisites ## Build and start the whole stack, wait until healthy, print the URLs
	$(MAKE) stack-up

stack-up:
	$(COMPOSE) up --build --detach --wait --remove-orphans
	@echo
	@echo "The polls stack is up:"
	@echo "  site       http://127.0.0.1:$(GATEWAY_PORT)/"
	@echo "  API docs   http://127.0.0.1:$(GATEWAY_PORT)/api/docs/"
	@echo "  admin      http://127.0.0.1:$(GATEWAY_PORT)/admin/"
	@echo "Demo data: make seed. Logs: make logs. Stop: make down."

down: ## Stop the stack (data stays in the postgres volume; `docker compose down -v` drops it)
	$(COMPOSE) down --remove-orphans

logs: ## Follow the logs of every service (SERVICE=api for one)
	$(COMPOSE) logs --follow --tail=100 $(if $(filter command line,$(origin SERVICE)),$(SERVICE))

seed: ## Fill the running stack's database with demo users, polls and votes
	$(COMPOSE) run --rm --no-deps migrate python manage.py seed

scale: ## Run REPLICAS replicas of SERVICE, e.g. make scale SERVICE=api REPLICAS=3
	@case "$(SERVICE)" in beat|migrate|postgres|redis) \
	  echo "$(SERVICE) does not scale: see the README's service table."; exit 2;; esac
	$(COMPOSE) up --detach --wait --no-recreate --scale $(SERVICE)=$(REPLICAS) $(SERVICE)

test: prerequisites ## Run the whole test suite: unit and integration, then end to end
	$(MAKE) test-stack-up test-integration test-e2e

test-stack-up:
	$(COMPOSE) down --volumes --remove-orphans
	$(COMPOSE) up --build --detach --wait

test-integration: ## (part of test) pytest against real PostgreSQL, Redis and Celery
	cd services && set -a && . ../secrets.env && set +a && \
	  ../$(BIN)/lint-imports --no-cache && \
	  ../$(BIN)/pytest -m "not e2e" -p no:cacheprovider
	$(BIN)/pytest tools/tests -p no:cacheprovider -o markers=docker

test-e2e: ## (part of test) pytest against the running stack through the gateway
	cd services && ../$(BIN)/pytest -m e2e -p no:cacheprovider

lock: $(BIN)/uv ## Re-pin services/requirements*.lock from requirements*.in
	$(BIN)/uv pip compile --quiet --python-version 3.13 --generate-hashes \
	  services/requirements.in -o services/requirements.lock
	$(BIN)/uv pip compile --quiet --python-version 3.13 --generate-hashes \
	  services/requirements-dev.in -o services/requirements-dev.lock

base-images: ## Choose base images: official ones, or build offline stand-ins if none can be pulled
	tools/base-images/ensure .base-images.env

prerequisites: $(VENV)/.installed secrets.env
	tools/ensure-docker
	tools/ensure-compose $(VENV)
	tools/base-images/ensure .base-images.env

secrets.env:
	tools/make-secrets $@

$(VENV)/.installed: services/requirements-dev.lock
	@echo "Installing the host virtualenv $(VENV) (test tools, Compose v2) ..."
	test -x $(BIN)/python || "$$(tools/find-python)" -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r services/requirements-dev.lock
	touch $@

$(BIN)/uv: $(VENV)/.installed

clean: ## Stop the stack and delete its volumes, the virtualenv and generated files
	-$(COMPOSE) down --volumes --remove-orphans
	rm -rf $(VENV) .base-images.env
