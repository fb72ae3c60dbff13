#!/usr/bin/env bash
# Host tier: metrics of two xiked in network namespaces, scraped by Debian's
# real Prometheus server. a has [daemon] metrics = 127.0.0.1:PORT; a
# Prometheus in a's namespace scrapes it every second, and its HTTP API
# must return xiked's series (the conn up, its IKE SA established, the
# build info) with the target healthy (Prometheus asks for OpenMetrics, so
# its OpenMetrics parser read the text). `xikectl metrics --prometheus`
# passes `promtool check metrics`, `xikectl metrics` the OpenMetrics
# reference parser. A reload moves the listener to another port, then
# turns it off. The host kernel has no ESP: the Child SA fails (counted).
#   tests/host/xiked_metrics.sh BUILD_DIR
set -uo pipefail
build=${1:?usage: $0 BUILD_DIR}
. "$(dirname "$0")/netns_pair.sh"
host_test xiked-metrics
for t in prometheus promtool curl /usr/bin/python3; do
  command -v "$t" >/dev/null || { echo "FAIL - $t missing (tools/setup installs it)"; exit 1; }
done
netns_pair xkm
pair_conf a "metrics = 127.0.0.1:9464"
pair_conf b ""

pair_start

up=no
for _ in $(seq 100); do
  "$xikectl" -s "$tmp/a.sock" metrics 2>/dev/null | grep -q '^xiked_conn_up{conn="peer"} 1$' && { up=yes; break; }
  sleep 0.1
done
[ $up = yes ] && ok "xikectl metrics: xiked_conn_up{conn=\"peer\"} 1" || bad "conn up in xikectl metrics"

"$xikectl" -s "$tmp/a.sock" metrics > "$tmp/a.om"
"$xikectl" -s "$tmp/a.sock" metrics --prometheus > "$tmp/a.prom"
if promtool check metrics < "$tmp/a.prom"; then
  ok "promtool check metrics accepts xikectl metrics --prometheus ($(grep -vc '^#' "$tmp/a.prom") samples)"
else
  bad "promtool check metrics"
fi
if out=$(/usr/bin/python3 - "$tmp/a.om" <<'PY'
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse
fams = list(parse(open(sys.argv[1]).read()))
print(len(fams), "families,", sum(len(f.samples) for f in fams), "samples")
PY
); then ok "OpenMetrics reference parser reads xikectl metrics: $out"; else bad "OpenMetrics parser"; fi
# No ESP on this kernel: b cannot install the Child SA (reason code kernel) and
# answers NO_PROPOSAL_CHOSEN, which a counts.
"$xikectl" -s "$tmp/b.sock" metrics > "$tmp/b.om"
la=$(grep '^xiked_child_setup_failures_total{conn="peer",reason="NO_PROPOSAL_CHOSEN"} 1$' "$tmp/a.om")
lb=$(grep '^xiked_child_setup_failures_total{conn="peer",reason="kernel"} 1$' "$tmp/b.om")
if [ -n "$la" ] && [ -n "$lb" ]; then
  ok "the failed Child SA is counted by reason code: a: $la; b: $lb"
else
  bad "child setup failures: a: $(grep '^xiked_child_setup_failures_total' "$tmp/a.om"); b: $(grep '^xiked_child_setup_failures_total' "$tmp/b.om")"
fi
grep -q '^xiked_ike_setups_total{conn="peer"} 1$' "$tmp/a.om" && ok "xiked_ike_setups_total{conn=\"peer\"} 1" \
  || bad "ike setups: $(grep '^xiked_ike_setups_total' "$tmp/a.om")"
ip netns exec "$A" curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9464/nothing | grep -q 404 \
  && ok "HTTP: 404 for another path" || bad "HTTP 404"

# Prometheus in a's namespace, scraping every second, storage in the temp dir.
cat > "$tmp/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: xiked
    static_configs:
      - targets: ['127.0.0.1:9464']
YML
ip netns exec "$A" prometheus --config.file="$tmp/prometheus.yml" \
  --storage.tsdb.path="$tmp/tsdb" --web.listen-address=127.0.0.1:9090 \
  --log.level=warn >"$tmp/prometheus.log" 2>&1 & echo $! > "$tmp/prometheus.pid"
q() { ip netns exec "$A" curl -s --max-time 5 -G http://127.0.0.1:9090/api/v1/query --data-urlencode "query=$1"; }
t0=$(date +%s)
got=no
for _ in $(seq 120); do
  r=$(q 'xiked_conn_up{conn="peer"}' 2>/dev/null)
  if echo "$r" | grep -q '"result":\[{"metric":{"__name__":"xiked_conn_up","conn":"peer".*"1"\]}'; then got=yes; break; fi
  sleep 0.5
done
if [ $got = yes ]; then
  ok "Prometheus query xiked_conn_up{conn=\"peer\"} returns 1 ($(( $(date +%s) - t0 )) s after its start)"
  echo "    $r"
else
  bad "Prometheus query of xiked_conn_up: ${r:-no answer}"; tail -n 20 "$tmp/prometheus.log"
fi
r=$(q 'xiked_ike_sas{state="established"}')
echo "$r" | grep -q '"conn":"peer".*"state":"established".*"1"\]' \
  && ok "Prometheus has xiked_ike_sas{state=\"established\"} 1" || bad "xiked_ike_sas: $r"
r=$(q 'xiked_build_info')
echo "$r" | grep -q '"version":"' && ok "Prometheus has xiked_build_info with its version" \
  || bad "xiked_build_info: $r"
r=$(q 'count({__name__=~"xiked_.*"})')
n=$(echo "$r" | grep -o '"value":\[[0-9.]*,"[0-9]*"' | grep -o '"[0-9]*"$' | tr -d '"')
[ "${n:-0}" -ge 50 ] && ok "Prometheus holds $n xiked series" || bad "xiked series in Prometheus: ${n:-none}"
r=$(ip netns exec "$A" curl -s http://127.0.0.1:9090/api/v1/targets)
if echo "$r" | grep -q '"health":"up"' && echo "$r" | grep -q '"lastError":""'; then
  ok "the scrape target is healthy (no parse error)"
else
  bad "scrape target: $r"
fi

# Reload: the listener moves to another port, then goes.
sed -i 's/^metrics = .*/metrics = 127.0.0.1:9465/' "$tmp/a.conf"
"$xikectl" -s "$tmp/a.sock" reload >/dev/null || bad "reload"
code_old=$(ip netns exec "$A" curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9464/metrics)
code_new=$(ip netns exec "$A" curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9465/metrics)
[ "$code_old" = 000 ] && [ "$code_new" = 200 ] && ok "reload moved the listener from 9464 to 9465" \
  || bad "reload of metrics = (old port $code_old, new $code_new)"
sed -i 's/^metrics = .*/metrics = off/' "$tmp/a.conf"
"$xikectl" -s "$tmp/a.sock" reload >/dev/null || bad "reload"
code_new=$(ip netns exec "$A" curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9465/metrics)
[ "$code_new" = 000 ] && ok "metrics = off: listener closed" || bad "listener still answers ($code_new)"
grep -q "metrics listener closed" "$tmp/a.log" && ok "the close is logged" || bad "no log line"

kill -TERM "$(cat "$tmp/prometheus.pid")"; wait "$(cat "$tmp/prometheus.pid")" 2>/dev/null
rm -f "$tmp/prometheus.pid"
xiked_stop a b
host_end xiked_metrics "$tmp/a.log"
