#!/bin/sh
# curl_test.sh: http_hello against a real HTTP client.
#
#   curl_test.sh CURL SERVER_COMMAND...
#
# Starts `SERVER_COMMAND... 0` in the background (port 0: the server picks
# a free port and prints it at the end of its first line, so two runs never
# race for one), then checks with curl, exactly:
#   1. GET: body "Hello, world!\n", status 200.
#   2. Two URLs in one curl: both bodies, the second over the first
#      connection (num_connects 1, then 0): keep-alive.
#   3. "Connection: close": bodies right, and the response said close, so
#      curl connected again for the next URL (num_connects 1, then 1).
#      Whether the server really closes is the self-test's business: curl
#      drops such a connection itself.
#   4. HEAD (-I): status 200, Content-Length: 14, no body.
#   5. HTTP/1.0: body right.
# Exits 0 only if all of that held; kills the server in every case.
set -u

curl=$1
shift
dir=$(mktemp -d)
pid=
cleanup() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
    echo "curl_test: FAILED: $*" >&2
    echo "--- server output:" >&2
    cat "$dir/server.log" >&2
    exit 1
}

"$@" 0 >"$dir/server.log" 2>&1 &
pid=$!

# The first line, once the server has printed it. The loop only bounds the
# wait for a server that died or never started.
port=
i=0
while [ -z "$port" ]; do
    port=$(sed -n '1s/^http_hello: listening on port \([0-9][0-9]*\)$/\1/p' "$dir/server.log")
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || fail "the server exited before listening"
    i=$((i + 1))
    [ "$i" -lt 600 ] || fail "no port after 60 s"
    sleep 0.1
done
url="http://127.0.0.1:$port"
c() { "$curl" --silent --show-error --max-time 30 "$@"; }

printf 'Hello, world!\n' >"$dir/hello"

# 1
code=$(c -o "$dir/body1" -w '%{http_code}' "$url/") || fail "curl GET"
[ "$code" = 200 ] || fail "GET: status $code"
cmp -s "$dir/hello" "$dir/body1" || fail "GET: body differs: $(od -c "$dir/body1" | head -3)"

# 2
c -o "$dir/a" -w '%{num_connects}\n' "$url/a" -o "$dir/b" -w '%{num_connects}\n' "$url/b" >"$dir/n2" ||
    fail "curl keep-alive"
cmp -s "$dir/hello" "$dir/a" && cmp -s "$dir/hello" "$dir/b" || fail "keep-alive: a body differs"
[ "$(tr '\n' ' ' <"$dir/n2")" = "1 0 " ] || fail "keep-alive: connects per request: $(tr '\n' ' ' <"$dir/n2")"

# 3
c -H 'Connection: close' -o "$dir/c" -w '%{num_connects}\n' "$url/c" -o "$dir/d" -w '%{num_connects}\n' "$url/d" \
    >"$dir/n3" || fail "curl Connection: close"
cmp -s "$dir/hello" "$dir/c" && cmp -s "$dir/hello" "$dir/d" || fail "Connection: close: a body differs"
[ "$(tr '\n' ' ' <"$dir/n3")" = "1 1 " ] || fail "Connection: close: connects per request: $(tr '\n' ' ' <"$dir/n3")"

# 4
c -I "$url/" | tr -d '\r' >"$dir/head" || fail "curl HEAD"
head -1 "$dir/head" | grep -q '^HTTP/1.1 200 OK$' || fail "HEAD: $(head -1 "$dir/head")"
grep -qi '^Content-Length: 14$' "$dir/head" || fail "HEAD: no Content-Length: 14"

# 5
c --http1.0 -o "$dir/e" "$url/" || fail "curl --http1.0"
cmp -s "$dir/hello" "$dir/e" || fail "HTTP/1.0: body differs"

kill -0 "$pid" 2>/dev/null || fail "the server died"
echo "curl_test: ok (port $port)"
