#!/usr/bin/env bash
# Smoke test for the gateway image (and the static service's nginx.conf).
#
# Self-contained: builds the gateway image, creates its own docker network,
# runs fake "web" and "api" replicas (tiny Python HTTP servers that answer with
# their hostname and echo the request headers), a real "static" nginx with
# services/static/nginx.conf and a few fake collectstatic files, and the
# gateway published on 127.0.0.1:<random port>. Checks routing, health paths,
# request ids, limits, headers, scale-out/in and retries, then removes
# everything it created.
#
# Usage: gateway/smoke-test.sh
#   NGINX_IMAGE   base for the gateway and static images  (default: polls-base/nginx:1.30
#                 when present, else nginx:1.30)
#   PYTHON_IMAGE  image with python3 for the fake upstreams (default: polls-base/python:3.13)
#   GATEWAY_IMAGE use this gateway image instead of building one
#   SMOKE_LOG_DIR save the gateway's and static's logs there before cleanup
#
# Traffic goes only to 127.0.0.1 and the test's own containers; every loop is
# bounded in count and time.
set -euo pipefail

for tool in docker curl gzip python3; do
    command -v "$tool" >/dev/null || { echo "gateway/smoke-test.sh needs $tool on the PATH" >&2; exit 2; }
done

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)

if [[ -z "${NGINX_IMAGE:-}" ]]; then
    if docker image inspect polls-base/nginx:1.30 >/dev/null 2>&1; then
        NGINX_IMAGE=polls-base/nginx:1.30
    else
        NGINX_IMAGE=nginx:1.30
    fi
fi
PYTHON_IMAGE=${PYTHON_IMAGE:-polls-base/python:3.13}

p="gwsmoke-$$"
net="$p-net"
work=$(mktemp -d)
built_image=""
containers=()

cleanup() {
    local rc=$?
    if [[ -n "${SMOKE_LOG_DIR:-}" ]]; then
        mkdir -p "$SMOKE_LOG_DIR"
        for ctr in "$p-gateway" "$p-static"; do
            docker logs "$ctr" >"$SMOKE_LOG_DIR/${ctr#"$p-"}.log" 2>&1 || true
        done
    fi
    if ((${#containers[@]})); then docker rm -f "${containers[@]}" >/dev/null 2>&1 || true; fi
    docker network rm "$net" >/dev/null 2>&1 || true
    if [[ -n "$built_image" ]]; then docker rmi -f "$built_image" >/dev/null 2>&1 || true; fi
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

passed=0
failed=0
ok()   { passed=$((passed + 1)); echo "ok   - $*"; }
nok()  { failed=$((failed + 1)); echo "FAIL - $*"; }
check() { # check DESCRIPTION COMMAND...
    local what=$1; shift
    if "$@"; then ok "$what"; else nok "$what"; fi
}

# ---- fake upstream: answers every path with its service name, hostname and
# ---- the request headers; with FAKE_FLAKY=1, /api/flaky answers 503; with
# ---- FAKE_HOLD_SECONDS=N, /api/hold is held N s and its connection closed
# ---- without an answer (a replica that fails mid-request).
read -r -d '' fake_py <<'PY' || true
import json, os, socket, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NAME = os.environ.get("FAKE_SERVICE", "fake")
FLAKY = os.environ.get("FAKE_FLAKY") == "1"
HOLD_SECONDS = float(os.environ.get("FAKE_HOLD_SECONDS") or 0)
HOST = socket.gethostname()

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if HOLD_SECONDS and self.path.startswith("/api/hold"):
            time.sleep(HOLD_SECONDS)
            self.close_connection = True
            return
        code = 503 if FLAKY and self.path.startswith("/api/flaky") else 200
        doc = {
            "service": NAME,
            "host": HOST,
            "path": self.path,
            "method": self.command,
            "headers": {k.lower(): v for k, v in self.headers.items()},
        }
        if self.path.startswith("/big"):
            doc["filler"] = "lorem ipsum dolor sit amet " * 400
        body = json.dumps(doc).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Served-By", HOST)
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = answer

    def log_message(self, *args):
        pass

# The real services' ports: web 8000, api 8001.
PORT = 8001 if os.environ["FAKE_SERVICE"] == "api" else 8000
ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()
PY

hardening=(--read-only --cap-drop ALL --security-opt no-new-privileges)

run_fake() { # run_fake NAME ALIAS [extra docker args...]
    local name=$1 alias=$2; shift 2
    docker run -d --name "$p-$name" --hostname "$name" --network "$net" \
        --network-alias "$alias" --user 65534:65534 "${hardening[@]}" \
        -e FAKE_SERVICE="$alias" "$@" "$PYTHON_IMAGE" python3 -c "$fake_py" >/dev/null
    containers+=("$p-$name")
}

run_gateway() { # run_gateway NAME [extra docker args, e.g. -e API_UPSTREAM=...]
    local name=$1; shift
    docker run -d --name "$p-$name" --network "$net" -p 127.0.0.1::8080 \
        --user 101:101 "${hardening[@]}" --tmpfs /tmp "$@" "$gw_image" >/dev/null
    containers+=("$p-$name")
}

gateway_url() { # gateway_url NAME: the 127.0.0.1 URL a gateway container is published on
    echo "http://127.0.0.1:$(docker port "$p-$1" 8080/tcp | head -n1 | sed 's/.*://')"
}

echo "# images: NGINX_IMAGE=$NGINX_IMAGE PYTHON_IMAGE=$PYTHON_IMAGE"
if [[ -n "${GATEWAY_IMAGE:-}" ]]; then
    gw_image=$GATEWAY_IMAGE
else
    gw_image="$p-gateway:smoke"
    docker build -q --build-arg NGINX_IMAGE="$NGINX_IMAGE" -t "$gw_image" "$here" >/dev/null
    built_image=$gw_image
fi

docker network create "$net" >/dev/null

# ---- fake collectstatic output for the real static config
mkdir -p "$work/static/css" "$work/static/admin"
css=$(printf 'body { color: #123; }\n%.0s' {1..200})
printf '%s' "$css" > "$work/static/css/app.css"
printf '%s' "$css" > "$work/static/css/app.0123456789ab.css"
gzip -k -9 "$work/static/css/app.0123456789ab.css"
echo '{"paths": {"css/app.css": "css/app.0123456789ab.css"}, "version": "1.1"}' > "$work/static/staticfiles.json"
echo 'admin' > "$work/static/admin/base.css"
chmod -R a+rX "$work"

run_fake web1 web
run_fake api1 api
docker run -d --name "$p-static" --network "$net" --network-alias static \
    --user 101:101 "${hardening[@]}" --tmpfs /tmp \
    -v "$repo/services/static/nginx.conf:/etc/nginx/nginx.conf:ro" \
    -v "$work/static:/srv/static:ro" "$NGINX_IMAGE" >/dev/null
containers+=("$p-static")

run_gateway gateway
base=$(gateway_url gateway)
port=${base##*:}
echo "# gateway on $base"

c() { curl -sS --max-time 5 "$@"; }

# wait (bounded) for the gateway and for the upstreams to answer through it
ready=0
for _ in $(seq 1 60); do
    if [[ "$(c -o /dev/null -w '%{http_code}' "$base/api/ping" 2>/dev/null)" == 200 &&
          "$(c -o /dev/null -w '%{http_code}' "$base/static/css/app.css" 2>/dev/null)" == 200 &&
          "$(c -o /dev/null -w '%{http_code}' "$base/" 2>/dev/null)" == 200 ]]; then
        ready=1; break
    fi
    sleep 0.5
done
if ((ready == 0)); then
    echo "gateway did not become ready; its log:"; docker logs "$p-gateway" 2>&1 | tail -n 30
    nok "gateway ready within 30 s"
    echo "$passed passed, $failed failed"
    exit 1
fi
ok "gateway ready and routing"

# helpers --------------------------------------------------------------------
status() { c -o /dev/null -w '%{http_code}' "$@"; }
answers_200() { # answers_200 URL: wait (at most 10 s) until URL answers 200
    for _ in $(seq 1 40); do
        [[ "$(status "$1" 2>/dev/null)" == 200 ]] && return 0
        sleep 0.25
    done
    return 1
}
json_field() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {}, {"d": d}))' "$1"; }
header() { # header NAME  (reads `curl -D -` output on stdin)
    tr -d '\r' | awk -v h="$(echo "$1" | tr 'A-Z' 'a-z')" 'BEGIN{FS=": "} tolower($1)==h {sub(/^[^:]*: /,""); print; exit}'
}
header_count() {
    tr -d '\r' | awk -v h="$(echo "$1" | tr 'A-Z' 'a-z')" 'BEGIN{FS=": "; n=0} tolower($1)==h {n++} END{print n}'
}
export -f header header_count

# ---- gateway process ----------------------------------------------------------
check "gateway runs as uid 101" test "$(docker exec "$p-gateway" id -u)" = 101
check "template rendered with resolve and the compose resolver" \
    bash -c "docker exec $p-gateway cat /tmp/gateway.conf | grep -q 'server web:8000 resolve' &&
             docker exec $p-gateway cat /tmp/gateway.conf | grep -q 'resolver 127.0.0.11 valid=5s ipv6=off'"

# ---- routing --------------------------------------------------------------------
check "/ -> web"              test "$(c "$base/" | json_field 'd["service"]')" = web
check "/polls/1/ -> web"      test "$(c "$base/polls/1/" | json_field 'd["service"]')" = web
check "/admin/ -> web"        test "$(c "$base/admin/" | json_field 'd["service"]')" = web
check "/api/ -> api"          test "$(c "$base/api/" | json_field 'd["service"]')" = api
check "/api/polls/?x=1 -> api with the query" \
    test "$(c "$base/api/polls/?x=1" | json_field 'd["service"] + " " + d["path"]')" = "api /api/polls/?x=1"
check "/api (no slash) -> api" test "$(c "$base/api" | json_field 'd["service"]')" = api
check "/apix -> web"          test "$(c "$base/apix" | json_field 'd["service"]')" = web
check "/static/<hashed> -> static" test "$(c "$base/static/css/app.0123456789ab.css")" = "$css"
check "X-Served-By passed through" test "$(c -D - -o /dev/null "$base/" | header X-Served-By)" = web1

# ---- health and internal endpoints -------------------------------------------------
hz=$(c -D - "$base/healthz")
check "/healthz 200 from the gateway itself" \
    bash -c '[[ "$1" == *" 200"* && "$1" == *"ok"* && "$1" != *"X-Served-By"* ]]' _ "$hz"
for path in /readyz /metrics /metrics/ //metrics /%6detrics /x/../readyz /healthz/ /READYZ; do
    out=$(c --path-as-is -D - "$base$path")
    check "$path -> 404, not proxied" \
        bash -c '[[ "$(head -n1 <<<"$1")" == *" 404"* && "$1" != *"X-Served-By"* ]]' _ "$out"
done

# ---- request id ----------------------------------------------------------------------
out=$(c -D "$work/h" "$base/api/rid")
rid=$(header X-Request-ID < "$work/h")
check "X-Request-ID generated (32 hex)" bash -c '[[ "$1" =~ ^[0-9a-f]{32}$ ]]' _ "$rid"
check "generated X-Request-ID sent upstream" test "$(json_field 'd["headers"].get("x-request-id")' <<<"$out")" = "$rid"
out=$(c -D "$work/h" -H 'X-Request-ID: trace-1.2:ABC_z' "$base/api/rid")
check "valid X-Request-ID kept in response" test "$(header X-Request-ID < "$work/h")" = "trace-1.2:ABC_z"
check "valid X-Request-ID sent upstream" test "$(json_field 'd["headers"].get("x-request-id")' <<<"$out")" = "trace-1.2:ABC_z"
check "exactly one X-Request-ID in the response" test "$(header_count X-Request-ID < "$work/h")" = 1
for bad in 'bad id' 'x;y' "$(printf 'a%.0s' {1..129})"; do
    out=$(c -D "$work/h" -H "X-Request-ID: $bad" "$base/")
    rid=$(header X-Request-ID < "$work/h")
    check "invalid X-Request-ID '${bad:0:12}...' replaced" \
        bash -c '[[ "$1" =~ ^[0-9a-f]{32}$ && "$2" == "$1" ]]' _ "$rid" \
        "$(json_field 'd["headers"].get("x-request-id")' <<<"$out")"
done
check "request id in the gateway's JSON access log" \
    bash -c "docker logs $p-gateway 2>/dev/null | grep -q '\"request_id\":\"trace-1.2:ABC_z\"'"

# ---- forwarded headers -----------------------------------------------------------------
out=$(c -H 'X-Forwarded-Proto: https' -H 'X-Forwarded-For: 6.6.6.6' "$base/")
check "Host passed with port" test "$(json_field 'd["headers"].get("host")' <<<"$out")" = "127.0.0.1:$port"
check "client's X-Forwarded-Proto not trusted at the edge" \
    test "$(json_field 'd["headers"].get("x-forwarded-proto")' <<<"$out")" = http
check "client's X-Forwarded-For replaced by the peer address" \
    bash -c '[[ -n "$1" && "$1" != *6.6.6.6* && "$1" != *,* ]]' _ "$(json_field 'd["headers"].get("x-forwarded-for")' <<<"$out")"
check "no Connection: close upstream (keepalive)" \
    bash -c '[[ "$1" != close ]]' _ "$(json_field 'd["headers"].get("connection")' <<<"$out")"

# ---- limits -------------------------------------------------------------------------
head -c $((2 * 1024 * 1024)) /dev/zero > "$work/2mb"
code=$(c -o "$work/413body" -w '%{http_code}' -X POST --data-binary @"$work/2mb" \
       -H 'Content-Type: application/octet-stream' "$base/api/upload")
check "2 MB POST -> 413" test "$code" = 413
check "413 body is short text, not HTML" \
    bash -c '! grep -qi "<html" "$1" && [ "$(wc -c < "$1")" -lt 200 ]' _ "$work/413body"
check "900 KB POST passes" test "$(head -c 900000 /dev/zero | c -o /dev/null -w '%{http_code}' \
    -X POST --data-binary @- "$base/api/upload")" = 200

# ---- security headers --------------------------------------------------------------------
for path in / /api/ /static/css/app.css /healthz /metrics /static/css/none.css; do
    c -D "$work/h" -o /dev/null "$base$path" || true
    check "security headers on $path" bash -c "
        [ \"\$(header_count X-Content-Type-Options < $work/h)\" = 1 ] &&
        [ \"\$(header_count X-Frame-Options < $work/h)\" = 1 ] &&
        [ \"\$(header_count Referrer-Policy < $work/h)\" = 1 ] &&
        grep -qi '^x-content-type-options: nosniff' $work/h &&
        ! grep -qi '^strict-transport-security' $work/h &&
        ! grep -qi '^server: nginx/' $work/h"
done

# ---- static -----------------------------------------------------------------------------
c -D "$work/h" -o /dev/null "$base/static/css/app.0123456789ab.css"
check "hashed file: immutable, 1 year" grep -qi '^cache-control: public, max-age=31536000, immutable' "$work/h"
c -D "$work/h" -o /dev/null "$base/static/css/app.css"
check "unhashed file: short cache" grep -qi '^cache-control: public, max-age=60' "$work/h"
c -D "$work/h" -o "$work/gz" -H 'Accept-Encoding: gzip' "$base/static/css/app.0123456789ab.css"
check "pre-compressed .gz served once (not gzipped twice)" \
    bash -c "grep -qi '^content-encoding: gzip' $work/h && [ \"\$(gzip -dc $work/gz)\" = \"\$1\" ]" _ "$css"
check "staticfiles.json not served" test "$(status "$base/static/staticfiles.json")" = 404
check "no directory listing" test "$(status "$base/static/admin/")" = 404
check "missing static file -> 404" test "$(status "$base/static/css/none.css")" = 404

# ---- gzip of upstream answers ------------------------------------------------------------
c -D "$work/h" -o "$work/big.gz" -H 'Accept-Encoding: gzip' "$base/big"
check "gateway gzips large JSON from web" \
    bash -c "grep -qi '^content-encoding: gzip' $work/h && gzip -dc $work/big.gz | grep -q lorem"

# ---- scale out: a second api replica behind the same name ----------------------------------
run_fake api2 api -e FAKE_FLAKY=1
t0=$(date +%s)
seen1=0; seen2=0
for _ in $(seq 1 100); do
    host=$(c "$base/api/whoami" 2>/dev/null | json_field 'd["host"]' 2>/dev/null || true)
    [[ $host == api1 ]] && seen1=1
    [[ $host == api2 ]] && seen2=1
    ((seen1 && seen2)) && break
    (($(date +%s) - t0 >= 15)) && break
    sleep 0.2
done
elapsed=$(($(date +%s) - t0))
check "scale-out noticed: both api replicas answered within 10 s (took ${elapsed}s)" \
    bash -c "(( $seen1 && $seen2 && $elapsed <= 10 ))"

# ---- retries: api2 answers 503 on /api/flaky ------------------------------------------------
bad=0; retried=0
t0=$(date +%s)
for i in $(seq 1 60); do
    code=$(status "$base/api/flaky?i=$i" || echo 000)
    [[ $code == 200 ]] || bad=$((bad + 1))
    if docker logs "$p-gateway" 2>/dev/null | grep '"method":"GET"' | grep -q '"upstream_status":"503, 200"'; then
        retried=1
        ((i >= 20)) && break
    fi
    (($(date +%s) - t0 >= 20)) && break
    sleep 0.25
done
check "GET after a 503 retried on the other replica (log shows \"503, 200\")" test "$retried" = 1
check "every GET to the flaky path got 200 ($bad failed)" test "$bad" = 0

# POST is not idempotent: a 503 from a replica it reached must come back as is,
# never be resent. Wait past fail_timeout (5 s) so api2 is chosen again.
post503=0
t0=$(date +%s)
for i in $(seq 1 60); do
    code=$(status -X POST -d 'x=1' "$base/api/flaky?post=$i" || echo 000)
    [[ $code == 503 ]] && { post503=1; break; }
    (($(date +%s) - t0 >= 20)) && break
    sleep 0.25
done
check "POST reached the failing replica and got its 503 (not retried)" test "$post503" = 1
check "no POST was tried on two replicas" \
    bash -c "! docker logs $p-gateway 2>/dev/null | grep '\"method\":\"POST\"' | grep -q '\"upstream_status\":\"[0-9]*, '"

# ---- scale in: remove api2 abruptly ---------------------------------------------------------
api2_ip=$(docker inspect -f "{{(index .NetworkSettings.Networks \"$net\").IPAddress}}" "$p-api2")
docker rm -f "$p-api2" >/dev/null
bad=0
for i in $(seq 1 30); do
    [[ "$(status "$base/api/after-kill?i=$i" || echo 000)" == 200 ]] || bad=$((bad + 1))
    sleep 0.1
done
check "GETs right after a replica vanished all succeed ($bad failed)" test "$bad" = 0
sleep 6
for i in $(seq 1 10); do status "$base/api/later?i=$i" >/dev/null || true; done
check "scale-in noticed: after re-resolution no try goes to the removed replica ($api2_ip)" \
    bash -c "[ -n '$api2_ip' ] && [ \"\$(docker logs $p-gateway 2>/dev/null | grep -c '/api/later')\" = 10 ] &&
             ! docker logs $p-gateway 2>/dev/null | grep '/api/later' | grep -qF '$api2_ip:8001'"

# ---- behind a trusted proxy (Kubernetes Ingress): forwarded headers believed -----------------
# Requests reach the gateway from the network's bridge address (the published port's proxy):
# trusting it stands for trusting the Ingress. gateway/tests covers the rest of realip.
net_gw=$(docker network inspect -f '{{(index .IPAM.Config 0).Gateway}}' "$net")
run_gateway gateway-trusted -e GATEWAY_TRUSTED_PROXIES="$net_gw/32"
tbase=$(gateway_url gateway-trusted)
out=""
for _ in $(seq 1 40); do
    out=$(c -H 'X-Forwarded-Proto: https' -H 'X-Forwarded-For: 203.0.113.7' \
          "$tbase/" 2>/dev/null) && [[ $out == *'"service"'* ]] && break
    sleep 0.25
done
check "trusted mode: X-Forwarded-Proto https passed on" \
    test "$(json_field 'd["headers"].get("x-forwarded-proto")' <<<"$out")" = https
check "trusted mode: the client named by the proxy is the one X-Forwarded-For entry" \
    test "$(json_field 'd["headers"].get("x-forwarded-for")' <<<"$out")" = 203.0.113.7
out=$(c -H 'X-Forwarded-Proto: javascript:' "$tbase/")
check "trusted mode: odd X-Forwarded-Proto replaced by the scheme" \
    test "$(json_field 'd["headers"].get("x-forwarded-proto")' <<<"$out")" = http

# ---- the replica list changes while a request is between tries --------------------------------
# A second gateway whose api group ("apiswap") starts with two replicas that hold
# /api/hold for 7 s and then drop the connection. A GET and a POST go in; then a
# healthy replica joins, and the gateway's list is re-resolved (valid=5s) before
# the holds end. nginx will not move a request started on the old list to
# another peer ("no live upstreams"), so the GET gets one fresh pass
# (@redispatch) and must reach the new replica; the POST was sent to a replica,
# so it must come back as a 503 and never be sent again.
run_fake hold1 apiswap -e FAKE_HOLD_SECONDS=7
run_fake hold2 apiswap -e FAKE_HOLD_SECONDS=7
run_gateway gateway-swap -e API_UPSTREAM=apiswap:8000
sbase=$(gateway_url gateway-swap)
answers_200 "$sbase/api/whoami" || true  # the checks below say what went wrong
c -o "$work/held-get" -w '%{http_code}' --max-time 40 "$sbase/api/hold?m=get" >"$work/held-get.code" 2>/dev/null &
held_get=$!
c -o /dev/null -w '%{http_code}' --max-time 40 -X POST -d 'x=1' "$sbase/api/hold?m=post" >"$work/held-post.code" 2>/dev/null &
held_post=$!
sleep 0.5
run_fake fresh1 apiswap
wait "$held_get" || true
wait "$held_post" || true
get_code=$(cat "$work/held-get.code"); post_code=$(cat "$work/held-post.code")
get_host=$(json_field 'd["host"]' <"$work/held-get" 2>/dev/null || true)
get_line=$(docker logs "$p-gateway-swap" 2>/dev/null | grep -F '/api/hold?m=get' || true)
post_line=$(docker logs "$p-gateway-swap" 2>/dev/null | grep -F '/api/hold?m=post' || true)
check "GET failing after the list changed: one fresh pass, 200 from the new replica (got $get_code from '$get_host')" \
    bash -c '[[ $1 == 200 && $2 == fresh1 && $3 == *", api : "* ]]' _ "$get_code" "$get_host" "$get_line"
check "POST that reached a failing replica: 503, sent once (got $post_code)" \
    bash -c '[[ $1 == 503 && $2 == *"\"upstream_status\":\"502\""* ]]' _ "$post_code" "$post_line"

# A try that never connected (here: nothing listens, so it is refused) gets the second pass;
# with no other replica that pass finds none, and the client gets the short 503.
docker run -d --name "$p-dead1" --network "$net" --network-alias apidead --user 65534:65534 \
    "${hardening[@]}" "$PYTHON_IMAGE" python3 -c 'import time; time.sleep(600)' >/dev/null
containers+=("$p-dead1")
run_gateway gateway-dead -e API_UPSTREAM=apidead:8000
dbase=$(gateway_url gateway-dead)
answers_200 "$dbase/healthz" || true  # the checks below say what went wrong
dead_code=$(status "$dbase/api/refused" || echo 000)
dead_line=$(docker logs "$p-gateway-dead" 2>/dev/null | grep -F '/api/refused' || true)
check "GET refused by the only replica: a second pass, then the short 503 (got $dead_code)" \
    bash -c '[[ $1 == 503 && $2 =~ \"upstream_addr\":\"[0-9.]+:8000\ :\ [0-9.]+:8000\" ]]' _ "$dead_code" "$dead_line"

# ---- the image's own healthcheck ----------------------------------------------------------------
hs=""
for _ in $(seq 1 40); do
    hs=$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$p-gateway")
    [[ $hs == healthy || -z $hs ]] && break
    sleep 0.5
done
check "docker HEALTHCHECK reports healthy (got '${hs:-none}')" test "$hs" = healthy

# ---- no replica left: a short 503 from the gateway, bounded in time ---------------------------
docker rm -f "$p-web1" >/dev/null
t0=$(date +%s)
code=$(c -o "$work/502body" -w '%{http_code}' --max-time 15 "$base/polls/" || true)
elapsed=$(($(date +%s) - t0))
check "no web replica: 503/504 from the gateway within 12 s (got $code in ${elapsed}s)" \
    bash -c '[[ "$1" == 503 || "$1" == 504 ]] && (( $2 <= 12 ))' _ "$code" "$elapsed"
check "gateway-made 503 body is short text" \
    bash -c '! grep -qi "<html" "$1" && [ "$(wc -c < "$1")" -lt 200 ]' _ "$work/502body"

echo
echo "$passed passed, $failed failed"
((failed == 0))
