# The compose stacks of the tests, the drills and the bench, each written once: the Makefile includes
# this file, and polls_loadtest.stack (loadtest/polls_loadtest/stack/compose.py) reads its
# `STACK_<NAME>_<KEY> := value` lines. Each stack is its own compose project with its own
# volumes and gateway port on 127.0.0.1, so none touches `make up`'s stack (project polls).
#   FILES: COMPOSE_FILE, paths from the repository root, ':'-separated
#   IMAGE_TAG: an own tag, so building never retags the images `make up` or `make test` run

# `make test`: docker-compose.test.yml publishes PostgreSQL and Redis on loopback for the host's
# pytest; docker-compose.load.yml relaxes the limits for the load test it runs.
STACK_TEST_PROJECT := polls-test
STACK_TEST_FILES := docker-compose.yml:docker-compose.test.yml:docker-compose.load.yml
STACK_TEST_PORT := 18080

# `make chaos`, `make chaos-test`: short Celery time limits so redelivery fits in a drill.
STACK_CHAOS_PROJECT := polls-chaos
STACK_CHAOS_FILES := docker-compose.yml:docker-compose.load.yml:loadtest/compose/chaos.yml
STACK_CHAOS_PORT := 28080
STACK_CHAOS_IMAGE_TAG := chaos

# `make release-drill`, `make release-test`: the drill stack's files (two replicas of each service,
# short Celery limits) in a project of its own. The release drill changes the schema (release N+1's
# expand, N+2's contract), so the failure drills must not share its stack; the images of N+1 and N+2
# are tagged from this tag (release-n1, release-n2).
STACK_RELEASE_PROJECT := polls-release
STACK_RELEASE_FILES := docker-compose.yml:docker-compose.load.yml:loadtest/compose/chaos.yml
STACK_RELEASE_PORT := 48080
STACK_RELEASE_IMAGE_TAG := release

# `make bench`: CPU quotas and the one-process monolith.
STACK_BENCH_PROJECT := polls-bench
STACK_BENCH_FILES := docker-compose.yml:docker-compose.load.yml:loadtest/compose/bench.yml
STACK_BENCH_PORT := 38080
STACK_BENCH_IMAGE_TAG := bench
