#!/usr/bin/env bash
# Kernel tier: the interop matrix with today's peers, one boot.  Peers:
#   ss6  strongSwan 6.x from Debian sid (root sid-strongswan, tools/peer-roots)
#   ls5  libreswan 5.x from Debian trixie (root trixie-libreswan)
#   ss5  the host's strongSwan 5.9.8 (Debian 12)
# each in both roles (xiked initiates, the peer initiates), over the cases of
# CASES below: PSK and certificates; x25519, ecp256/384/521, modp3072;
# AES-GCM-128/256, AES-CBC with SHA-256/384/512, ChaCha20-Poly1305; tunnel
# and transport mode; IPv4 and IPv6 outer addresses.  For each: the IKE SA
# and the Child SA come up on both sides, `ip xfrm state` on both shows the
# proposal's algorithms and the mode, xiked's status the DH group, pings
# cross in both directions (counted by the Child SA), and xiked's exit
# removes everything on both sides.  A table (peer, role, proposal, auth,
# mode, family, result, seconds) ends the output.
#
# Nothing is routed or addressed by hand for the tunnels: every case is a
# host-to-host SA whose selectors are the two outer addresses, so the
# hosts' own connected routes carry it.  Each case has its own pair of
# addresses on the peer's side (a peer tells its connections apart by
# address), one peer daemon serves all cases with every connection loaded,
# and xiked is started per case with that case's [conn] only.
#
#   tests/vm/run tests/vm/scenarios/interop.sh BUILD_DIR
# Which cases run (each is PEER ROLE cN):
#   XIKED_INTEROP=all (or XIKED_VM_FULL=1)  every case of every peer and role
#   XIKED_INTEROP=REGEX    the cases whose label ("ss6 xiked c3 ...") matches
#   default                a sample rotating with the day of the year: one
#                          case for each of the new peers (ss6, ls5) and
#                          roles, the four picks all different, so every
#                          (peer, role, case) runs every 6 days; ss5 (used by
#                          the other scenarios already) only in full runs.
#   XIKED_INTEROP_DAY=N    the day of the year the sample is drawn for
# XIKED_VM_OUT=DIR keeps the daemons' logs (in DIR/interop).
#
# Topology (namespaces; xiked's address on each link .1 / ::1, case N of a
# peer at .1N / ::1N, N = 0..5):
#   xk (xiked) x6 192.0.2.1      2001:db8:6::1 ---- e ss6 (charon 6.x, chroot)
#              x7 198.51.100.1   2001:db8:7::1 ---- e ls5 (pluto 5.x, chroot)
#              x5 203.0.113.1    2001:db8:5::1 ---- e ss5 (charon 5.9.8)
# Identities: xiked is a.example, every peer b.example (tests/fixtures/pki).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/lib.sh
. "$here/../lib.sh"
# shellcheck source=tests/vm/xiked.sh
. "$here/../xiked.sh"
vm_require
xk_init "${1:-build}"
PKI=$(cd "$here/../../fixtures/pki" && pwd)

save_logs() {
  [ -n "${XIKED_VM_OUT:-}" ] || return 0
  local d
  for d in "$XK_DIR" "$VM_SS_DIR" "$VM_LS_DIR"; do
    mkdir -p "$XIKED_VM_OUT/interop/${d##*/}"
    find "$d" -type f \( -name '*.log' -o -name '*.conf' -o -name '*.out' \) \
      -exec sh -c 'for f; do cp "$f" "$0/$(echo "${f#/tmp/}" | tr / _)"; done' \
      "$XIKED_VM_OUT/interop/${d##*/}" {} + 2>/dev/null || true
  done
}
on_exit() {
  local rc=$?
  set +e
  xk_cleanup
  save_logs
  (exit "$rc")
  vm_on_exit
}
trap on_exit EXIT

# ---------------------------------------------------------------- the cases
# N: IKE proposal, ESP proposal (xiked's and strongSwan's keywords, which
# agree), libreswan's ike= and esp=, auth (psk or cert: ECDSA P-256
# certificates under tests/fixtures/pki's root), mode, outer family.
CASES=(
  "aes128gcm16-prfsha256-x25519      aes128gcm16      aes_gcm128-sha2_256-dh31        aes_gcm128         psk  tunnel    4"
  "aes256gcm16-prfsha384-ecp384      aes256gcm16      aes_gcm256-sha2_384-dh20        aes_gcm256         cert transport 6"
  "aes128-sha256-ecp256              aes128-sha256    aes128-sha2_256-dh19            aes128-sha2_256    cert tunnel    6"
  "aes256-sha384-modp3072            aes256-sha384    aes256-sha2_384-modp3072        aes256-sha2_384    psk  transport 4"
  "aes256-sha512-ecp521              aes256-sha512    aes256-sha2_512-dh21            aes256-sha2_512    psk  tunnel    6"
  "chacha20poly1305-prfsha256-x25519 chacha20poly1305 chacha20_poly1305-sha2_256-dh31 chacha20_poly1305  cert transport 4"
)
PEERS=(ss6 ls5 ss5)
ROLES=(xiked peer)
declare -A PEER_NAME=([ss6]="strongSwan 6" [ls5]="libreswan 5" [ss5]="strongSwan 5.9.8")
declare -A PEER_NET=([ss6]=6 [ls5]=7 [ss5]=5)
declare -A NET4=([6]=192.0.2 [7]=198.51.100 [5]=203.0.113)

# xk_addr PEER FAMILY, peer_addr PEER N FAMILY: the outer addresses.
xk_addr() { if [ "$2" = 4 ]; then echo "${NET4[${PEER_NET[$1]}]}.1"; else echo "2001:db8:${PEER_NET[$1]}::1"; fi; }
peer_addr() { if [ "$3" = 4 ]; then echo "${NET4[${PEER_NET[$1]}]}.1$2"; else echo "2001:db8:${PEER_NET[$1]}::1$2"; fi; }
plen() { if [ "$1" = 4 ]; then echo 32; else echo 128; fi; }

# esp_xfrm ESP: the regular expressions one `ip xfrm state` entry of ESP
# matches (key lengths in hex digits: GCM's and ChaCha20's include the
# 4-byte salt, RFC 4106 section 8.1, RFC 7634 section 2).
esp_xfrm() {
  local k='0x[0-9a-f]'
  case $1 in
    aes128gcm16) echo "aead rfc4106\(gcm\(aes\)\) $k{40} 128" ;;
    aes256gcm16) echo "aead rfc4106\(gcm\(aes\)\) $k{72} 128" ;;
    aes128-sha256) echo "enc cbc\(aes\) $k{32}( |$)"; echo "auth-trunc hmac\(sha256\) $k{64} 128" ;;
    aes256-sha384) echo "enc cbc\(aes\) $k{64}( |$)"; echo "auth-trunc hmac\(sha384\) $k{96} 192" ;;
    aes256-sha512) echo "enc cbc\(aes\) $k{64}( |$)"; echo "auth-trunc hmac\(sha512\) $k{128} 256" ;;
    chacha20poly1305) echo "aead rfc7539esp\(chacha20,poly1305\) $k{72} 128" ;;
    *) echo "esp_xfrm: unknown $1" >&2; return 1 ;;
  esac
}

# xfrm_algs NS MODE SRC DST REGEX...: NS holds exactly two ESP states,
# one each way between SRC and DST, both in MODE and matching every REGEX.
xfrm_algs() {
  local n=$1 mode=$2 a=$3 b=$4 st re bad=0 dirs=""
  shift 4
  local -a sts
  # (No process substitution: the VM's /dev has no /dev/fd.)
  mapfile -t sts <<< "$(ip -n "$n" xfrm state |
    awk '/^src /{ if (s != "") print s; s = $0; next } { s = s " " $0 } END { if (s != "") print s }' |
    tr -s ' \t' ' ')"
  [ -n "${sts[0]}" ] || sts=()
  if [ ${#sts[@]} -ne 2 ]; then
    echo "$n: ${#sts[@]} states, not 2"
    bad=1
  fi
  for st in "${sts[@]}"; do
    [[ $st == "src $a dst $b "* ]] && dirs+=o
    [[ $st == "src $b dst $a "* ]] && dirs+=i
    [[ $st == *" proto esp "* && $st == *" mode $mode "* ]] || { echo "$n: not ESP in $mode mode"; bad=1; }
    for re in "$@"; do [[ $st =~ $re ]] || { echo "$n: no match for /$re/"; bad=1; }; done
  done
  [[ $dirs == oi || $dirs == io ]] || { echo "$n: not one state each way ($dirs)"; bad=1; }
  [ $bad -eq 0 ] || ip -n "$n" xfrm state | sed -E 's/0x[0-9a-f]{16,}/KEY/g'
  return $bad
}

# ---------------------------------------------------------------- selection
wanted_cases=()
doy=${XIKED_INTEROP_DAY:-$((10#$(date +%j)))}
sel=${XIKED_INTEROP:-}
[ "${XIKED_VM_FULL:-0}" != 1 ] || sel=all
# label_of PEER ROLE N: the case's name, in LABEL (no fork: each costs
# much under TCG).
label_of() {
  local ike esp lsi lse auth mode fam
  read -r ike esp lsi lse auth mode fam <<< "${CASES[$3]}"
  LABEL="$1 $2 c$3 $ike/$esp $auth $mode v$fam"
}
pi=0
for p in "${PEERS[@]}"; do
  ri=0
  for r in "${ROLES[@]}"; do
    for ((i = 0; i < ${#CASES[@]}; i++)); do
      label_of "$p" "$r" $i
      case $sel in
        all) wanted_cases+=("$p $r $i") ;;
        "") [ "$p" != ss5 ] && [ $(((doy + 2 * pi + ri) % ${#CASES[@]})) -eq $i ] &&
          wanted_cases+=("$p $r $i") ;;
        *) [[ ! $LABEL =~ $sel ]] || wanted_cases+=("$p $r $i") ;;
      esac
    done
    ri=$((ri + 1))
  done
  pi=$((pi + 1))
done
note "kernel $(uname -r); ${#wanted_cases[@]} cases (XIKED_INTEROP=${sel:-sample of day $doy})"
declare -A USED=()
for c in "${wanted_cases[@]}"; do USED[${c%% *}]=1; done

# ---------------------------------------------------------------- network
if vm_kernel_init; then ok "load IPsec modules, warm up the ESP algorithms"
else fail "load IPsec modules, warm up the ESP algorithms"; fi
ns_new xk
for p in "${PEERS[@]}"; do
  [ -n "${USED[$p]:-}" ] || continue
  k=${PEER_NET[$p]}
  ns_new "$p"
  ns_link xk "x$k" "$p" e
  ns_addr xk "x$k" "$(xk_addr "$p" 4)/24" "$(xk_addr "$p" 6)/64"
  # One ip for all of the peer's addresses (each fork costs under TCG).
  for ((i = 0; i < ${#CASES[@]}; i++)); do
    echo "addr add $(peer_addr "$p" $i 4)/24 dev e"
    echo "addr add $(peer_addr "$p" $i 6)/64 dev e nodad"
  done | ip -n "$p" -batch -
done

# ---------------------------------------------------------------- peers
PSK=$XK_PSK

# swanctl_conf: a swanctl.conf with connection cN for every case, on NS's
# case addresses (strongSwan 5.9.8 and 6 read the same).
swanctl_conf() {
  local p=$1 i ike esp lsi lse auth mode fam a
  echo "connections {"
  for ((i = 0; i < ${#CASES[@]}; i++)); do
    read -r ike esp lsi lse auth mode fam <<< "${CASES[$i]}"
    if [ "$auth" = cert ]; then a="pubkey"; else a="psk"; fi
    cat <<EOF
  c$i {
    version = 2
    local_addrs = $(peer_addr "$p" $i "$fam")
    remote_addrs = $(xk_addr "$p" "$fam")
    proposals = $ike
    local {
      id = b.example
      auth = $a
$( [ "$auth" = cert ] && echo "      certs = b-ecdsa.crt" )
    }
    remote {
      id = a.example
      auth = $a
    }
    children {
      c$i {
        mode = $mode
        esp_proposals = $esp
      }
    }
  }
EOF
  done
  cat <<EOF
}
secrets {
  ike-ab {
    id-1 = a.example
    id-2 = b.example
    secret = "$PSK"
  }
}
EOF
}

# ipsec_conf: the same for libreswan (left is the peer, right xiked).
ipsec_conf() {
  local p=$1 d=$2 i ike esp lsi lse auth mode fam
  cat <<EOF
config setup
	logfile=$d/pluto.log
	plutodebug=base
EOF
  for ((i = 0; i < ${#CASES[@]}; i++)); do
    read -r ike esp lsi lse auth mode fam <<< "${CASES[$i]}"
    cat <<EOF

conn c$i
	left=$(peer_addr "$p" $i "$fam")
	right=$(xk_addr "$p" "$fam")
	leftid=@b.example
	rightid=@a.example
	ike=$lsi
	esp=$lse
	type=$mode
	auto=add
EOF
    if [ "$auth" = cert ]; then
      printf '\tauthby=ecdsa\n\tleftcert=b\n'
    else
      printf '\tauthby=secret\n'
    fi
  done
}

peer_start() { # peer_start PEER
  local p=$1 d
  case $p in
    ss6 | ss5)
      if [ "$p" = ss6 ]; then charon_root ss6 sid-strongswan || return 1; fi
      d=$(charon_dir "$p")
      mkdir -p "$d/swanctl"/{x509,x509ca,private}
      cp "$PKI/b-ecdsa.crt" "$d/swanctl/x509/"
      cp "$PKI/b-ecdsa.key" "$d/swanctl/private/"
      cp "$PKI/root.crt" "$d/swanctl/x509ca/"
      swanctl_conf "$p" > "$d/swanctl/swanctl.conf"
      charon_start "$p" || return 1
      swanctl_in "$p" --load-all --noprompt --file "$d/swanctl/swanctl.conf"
      ;;
    ls5)
      pluto_init ls5 trixie-libreswan "$PKI/root.crt" b "$PKI/b-ecdsa.crt" "$PKI/b-ecdsa.key" ||
        return 1
      d=$(pluto_dir ls5)
      printf '@b.example @a.example : PSK "%s"\n' "$PSK" > "$d/ipsec.secrets"
      ipsec_conf ls5 "$d" > "$d/ipsec.conf"
      pluto_start ls5 || return 1
      pluto_add ls5 --autoall
      ;;
  esac
}

peer_version_of() {
  case $1 in
    ss6) echo "strongSwan $(peer_version sid-strongswan strongswan-charon)" ;;
    ls5) echo "libreswan $(peer_version trixie-libreswan libreswan)" ;;
    ss5) echo "strongSwan $(dpkg-query -W -f '${Version}' strongswan-charon)" ;;
  esac
}

peer_initiate() { # peer_initiate PEER N
  case $1 in
    ss6 | ss5) charon_initiate "$1" "c$2" 150 ;;
    ls5) whack_in ls5 --name "c$2" --initiate --asynchronous ;;
  esac
}

peer_terminate() { # peer_terminate PEER N: the peer deletes cN's IKE SA
  case $1 in
    ss6 | ss5) swanctl_in "$1" --terminate --ike "c$2" --timeout 60 ;;
    # --terminate (ipsec down) also ends libreswan 5's revival of a conn it
    # brought up, which would otherwise initiate again after a peer's Delete.
    ls5) whack_in ls5 --name "c$2" --terminate ;;
  esac
}

peer_child_up() { # peer_child_up PEER N: the peer shows cN's Child SA
  case $1 in
    ss6 | ss5) swanctl_in "$1" --list-sas --ike "c$2" | grep -q INSTALLED ;;
    ls5) whack_in ls5 --trafficstatus | grep -q "\"c$2\"" ;;
  esac
}

peer_no_sa() { # peer_no_sa PEER N: the peer has no SA of cN left
  case $1 in
    ss6 | ss5) ! swanctl_in "$1" --list-sas --ike "c$2" | grep -q "c$2" ;;
    ls5) ! whack_in ls5 --showstates | grep -q "\"c$2\"" ;;
  esac
}

peer_log_tail() {
  case $1 in
    ss6 | ss5) tail -n 30 "$(charon_log "$1")" | sed 's/^/       | /' ;;
    ls5) tail -n 30 "$(pluto_dir ls5)/pluto.log" | sed 's/^/       | /' ;;
  esac
}

# The peers start side by side (each takes tens of seconds under TCG); a
# peer_start runs in a subshell, so what lib.sh records of the daemon for
# its cleanup is recorded here again afterwards.
declare -A PEER_UP=() PEER_PID=()
mkdir -p "$VM_SS_DIR" "$VM_LS_DIR"
t=$EPOCHREALTIME
for p in "${PEERS[@]}"; do
  [ -n "${USED[$p]:-}" ] || continue
  case $p in
    ss6) charon_root ss6 sid-strongswan || continue ;;
    ls5) VM_LS_ROOT[ls5]=$(peer_root trixie-libreswan) || continue ;;
  esac
  peer_start "$p" > "/tmp/interop-start-$p.out" 2>&1 &
  PEER_PID[$p]=$!
done
for p in "${!PEER_PID[@]}"; do
  case $p in ls5) VM_PLUTOS+=("$p") ;; *) VM_CHARONS+=("$p") ;; esac
  if wait "${PEER_PID[$p]}"; then
    PEER_UP[$p]=1
    ok "${PEER_NAME[$p]} ($(peer_version_of "$p")) starts in $p with every connection loaded"
  else
    fail "${PEER_NAME[$p]} starts in $p with every connection loaded"
    tail -n 20 "/tmp/interop-start-$p.out" | sed 's/^/       | /'
  fi
done
note "peers started in $(((${EPOCHREALTIME/./} - ${t/./}) / 1000)) ms"
declare -A XFRM_BASE=()
for p in "${!PEER_UP[@]}"; do
  XFRM_BASE[$p]=$(xfrm_policies "$p")
  [ -z "${XFRM_BASE[$p]}" ] || note "$p's own policies from its start: $(grep -c '^src' <<< "${XFRM_BASE[$p]}")"
done

# ---------------------------------------------------------------- one case
ping_ok() { # ping_ok NS SRC DST: 3 echo requests, all answered
  local out
  out=$(ns_ping "$1" -c 3 -W 5 -I "$2" "$3" 2>&1) || { echo "$out"; return 1; }
  grep -q '3 packets received' <<< "$out" || { echo "$out"; return 1; }
}
# nothing_in XK-NS PEER-NS: no xfrm state or policy left, but for those the
# peer daemon holds from its start (libreswan's ICMPv6 neighbour discovery
# bypass policies).
nothing_in() {
  xfrm_empty "$1" && [ -z "$(ip -n "$2" xfrm state)" ] &&
    [ "$(xfrm_policies "$2")" = "${XFRM_BASE[$2]:-}" ]
}
nothing_left() { # nothing_left XK-NS PEER-NS: nothing_in, waiting 30 s
  wait_for 30 "xfrm states and policies to go" nothing_in "$1" "$2" && return 0
  local n
  for n in "$1" "$2"; do
    echo "left in $n:"
    { ip -n "$n" xfrm state; xfrm_policies "$n"; } | sed -E 's/0x[0-9a-f]{16,}/KEY/g'
  done
  return 1
}
xk_no_sa() { xk_json "$1" | jq -e '.ike_sas | length == 0' > /dev/null; }

# xk_ike_has NAME DH: the negotiated IKE proposal ends with DH (a keyword:
# x25519, ecpN, modpN; the status has the IANA names).
xk_ike_has() {
  local j want=$2
  case $want in
    x25519) want=Curve25519 ;;
    ecp*) want=ECP_${want#ecp} ;;
    modp*) want=MODP_${want#modp} ;;
  esac
  j=$(xk_json "$1") || return 1
  json_field ike_proposal "$j"
  echo "negotiated: ${JSON_VALUES[*]}"
  [[ ${#JSON_VALUES[@]} -eq 1 && ${JSON_VALUES[0]} == *"/$want" ]]
}

RESULTS=()
run_case() { # run_case PEER ROLE N
  local p=$1 r=$2 i=$3 ike esp lsi lse auth mode fam xa pa label f0 t0 res up=1
  local -a res_re
  read -r ike esp lsi lse auth mode fam <<< "${CASES[$i]}"
  xa=$(xk_addr "$p" "$fam")
  pa=$(peer_addr "$p" "$i" "$fam")
  label_of "$p" "$r" "$i"
  label=$LABEL
  f0=$VM_FAILED t0=$EPOCHREALTIME
  note "---- case $label"
  if [ -z "${PEER_UP[$p]:-}" ]; then
    fail "$label: ${PEER_NAME[$p]} is not running"
  else
    {
      cat <<EOF
[conn c$i]
local_addr = $xa
remote_addr = $pa
local_id = a.example
remote_id = b.example
ike = $ike
esp = $esp
mode = $mode
local_ts = $xa/$(plen "$fam")
remote_ts = $pa/$(plen "$fam")
EOF
      if [ "$auth" = cert ]; then
        printf 'auth = pubkey\ncert = %s\nkey = %s\ncacert = %s\n' \
          "$PKI/a-ecdsa.crt" "$PKI/a-ecdsa.key" "$PKI/root.crt"
      else
        printf 'auth = psk\npsk = "%s"\n' "$PSK"
      fi
    } | xk_conf X
    check "$label: xiked starts" xk_start xk X
    if [ "$r" = xiked ]; then
      check "$label: xikectl up c$i" xk_ctl X up "c$i"
    else
      check "$label: ${PEER_NAME[$p]} initiates c$i" peer_initiate "$p" "$i"
    fi
    if xk_wait_child X 150 && wait_for 30 "the peer's Child SA" peer_child_up "$p" "$i"; then
      ok "$label: IKE SA and Child SA up in xiked and ${PEER_NAME[$p]}"
    else
      up=""
      fail "$label: IKE SA and Child SA up in xiked and ${PEER_NAME[$p]}"
      xk_log_tail X
      peer_log_tail "$p"
    fi
    if [ -n "$up" ]; then
      mapfile -t res_re <<< "$(esp_xfrm "$esp")"
      check "$label: ip xfrm state in xk: $esp, $mode" xfrm_algs xk "$mode" "$xa" "$pa" "${res_re[@]}"
      check "$label: ip xfrm state in $p: $esp, $mode" xfrm_algs "$p" "$mode" "$pa" "$xa" "${res_re[@]}"
      check "$label: xiked negotiated ${ike##*-}" xk_ike_has X "${ike##*-}"
      # The first packet through a new algorithm may wait for the kernel's
      # self-test under TCG: one with a long timeout first.
      ns_ping xk -c 1 -W 30 -I "$xa" "$pa" > /dev/null 2>&1 || true
      check "$label: ping xiked -> ${PEER_NAME[$p]}" ping_ok xk "$xa" "$pa"
      check "$label: ping ${PEER_NAME[$p]} -> xiked" ping_ok "$p" "$pa" "$xa"
      check "$label: the pings went through the Child SA (counters > 0)" xk_counters_positive X
    fi
    # The initiator deletes: xiked by exiting, the peer by its own command.
    if [ "$r" = xiked ]; then
      check "$label: xiked exits 0 on SIGTERM (deleting its SAs)" xk_stop X
      check "$label: ${PEER_NAME[$p]} deletes its SAs of c$i" wait_for 30 "the peer's SAs to go" peer_no_sa "$p" "$i"
    else
      check "$label: ${PEER_NAME[$p]} deletes c$i" peer_terminate "$p" "$i"
      check "$label: xiked deletes its SAs" wait_for 30 "xiked's SAs to go" xk_no_sa X
      check "$label: xiked exits 0 on SIGTERM" xk_stop X
    fi
    check "$label: nothing left in xk and $p" nothing_left xk "$p"
    # A case that failed must not leave its SAs to the next one.
    if [ "$VM_FAILED" -ne "$f0" ]; then
      ip -n xk xfrm state flush; ip -n xk xfrm policy flush
      case $p in ls5) whack_in ls5 --name "c$i" --terminate > /dev/null 2>&1 ;;
        *) swanctl_in "$p" --terminate --ike "c$i" --force > /dev/null 2>&1 ;; esac || true
    fi
  fi
  if [ "$VM_FAILED" -eq "$f0" ]; then res=ok; else res=FAIL; fi
  RESULTS+=("$p|$r|$ike / $esp|$auth|$mode|IPv$fam|$res|$(((${EPOCHREALTIME/./} - ${t0/./}) / 100000))")
}

for c in "${wanted_cases[@]}"; do
  # shellcheck disable=SC2086 # PEER ROLE N
  run_case $c
done
for p in "${PEERS[@]}"; do
  [ -n "${PEER_UP[$p]:-}" ] || continue
  case $p in ls5) pluto_stop ls5 ;; *) charon_stop "$p" ;; esac
done

# ---------------------------------------------------------------- the table
{
  printf '%-26s %-9s %-54s %-5s %-10s %-6s %-6s %s\n' peer initiator proposal auth mode family result seconds
  for row in "${RESULTS[@]}"; do
    IFS='|' read -r p r prop auth mode fam res ds <<< "$row"
    printf '%-26s %-9s %-54s %-5s %-10s %-6s %-6s %d.%d\n' "$(peer_version_of "$p")" \
      "$([ "$r" = xiked ] && echo xiked || echo peer)" "$prop" "$auth" "$mode" "$fam" "$res" \
      $((ds / 10)) $((ds % 10))
  done
} | sed 's/^/# /'
xk_cleanup
save_logs
finish
