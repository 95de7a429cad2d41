#!/usr/bin/env bash
# Smoke test for the EVM fixtures: starts anvil (from node_modules) on a free
# loopback port, deploys Multicall3 from its canonical pre-signed transaction,
# deploys each artifact in artifacts/ and checks balances and failure modes via
# eth_call, then stops anvil. Talks to 127.0.0.1 only.
#
# Needs: `npm ci` done in this folder, curl, jq.
# Usage: bash verify.sh        (or: npm run verify)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"

ANVIL="${ANVIL:-$HERE/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil}"
ART="$HERE/artifacts"
MC3="$HERE/multicall3/deploy.json"

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

for tool in curl jq; do
  command -v "$tool" >/dev/null || fail "$tool not found (apt-get install -y $tool)"
done
[[ -x "$ANVIL" ]] || fail "anvil not found at $ANVIL (run npm ci in $HERE)"

echo "$("$ANVIL" --version | head -1)"

# --- (a) start anvil on 127.0.0.1, port chosen by the OS -------------------
LOG="$(mktemp)"
"$ANVIL" --host 127.0.0.1 --port 0 >"$LOG" 2>&1 &
ANVIL_PID=$!
cleanup() {
  if kill -0 "$ANVIL_PID" 2>/dev/null; then
    kill "$ANVIL_PID" 2>/dev/null || true
    wait "$ANVIL_PID" 2>/dev/null || true
  fi
  rm -f "$LOG"
}
trap cleanup EXIT

PORT=""
for _ in $(seq 1 300); do  # up to 30 s
  PORT="$(grep -oE 'Listening on 127\.0\.0\.1:[0-9]+' "$LOG" | head -n1 | sed 's/.*://')" || true
  [[ -n "$PORT" ]] && break
  kill -0 "$ANVIL_PID" 2>/dev/null || { cat "$LOG" >&2; fail "anvil exited early"; }
  sleep 0.1
done
[[ -n "$PORT" ]] || { cat "$LOG" >&2; fail "anvil did not print 'Listening on 127.0.0.1:PORT'"; }
URL="http://127.0.0.1:$PORT"
ok "anvil pid $ANVIL_PID listening on $URL"

# JSON-RPC helpers. rpc prints the whole response; call prints .result or fails.
rpc() {
  local body
  body="$(jq -cn --arg m "$1" --argjson p "$2" '{jsonrpc:"2.0",id:1,method:$m,params:$p}')"
  curl -sS --fail --noproxy '*' --max-time 30 \
    -H 'Content-Type: application/json' --data "$body" "$URL"
}
call() {
  local resp
  resp="$(rpc "$1" "$2")"
  if jq -e 'has("error")' <<<"$resp" >/dev/null; then
    fail "$1 returned error: $(jq -c .error <<<"$resp")"
  fi
  jq -r '.result' <<<"$resp"
}
# Left-pads a hex value (with or without 0x) to a 32-byte ABI word.
word() { local h="${1#0x}"; h="${h,,}"; printf '%64s' "$h" | tr ' ' 0; }
# Waits for a mined receipt (anvil automines, so normally immediate) and checks status 0x1.
receipt() {
  local r=""
  for _ in $(seq 1 50); do
    r="$(call eth_getTransactionReceipt "[\"$1\"]")"
    [[ "$r" != "null" ]] && break
    sleep 0.1
  done
  [[ "$r" != "null" ]] || fail "no receipt for $1"
  [[ "$(jq -r .status <<<"$r")" == "0x1" ]] || fail "tx $1 failed: $r"
  echo "$r"
}
# Deploys artifacts/<Name>.json from the first dev account; prints the address.
deploy() {
  local code hash
  code="$(jq -r .bytecode "$ART/$1.json")"
  hash="$(call eth_sendTransaction "[{\"from\":\"$FROM\",\"data\":\"$code\"}]")"
  receipt "$hash" | jq -r .contractAddress
}
# Sends a state-changing call from the first dev account and waits for success.
send() {
  local hash
  hash="$(call eth_sendTransaction "[{\"from\":\"$FROM\",\"to\":\"$1\",\"data\":\"$2\"}]")"
  receipt "$hash" >/dev/null
}
ethcall() { call eth_call "[{\"to\":\"$1\",\"data\":\"$2\"},\"latest\"]"; }

CHAIN_ID="$(call eth_chainId '[]')"
[[ "$CHAIN_ID" == "0x7a69" ]] || fail "unexpected chain id $CHAIN_ID"
ok "chain id $CHAIN_ID (31337)"

# --- (b) Multicall3 via its pre-signed (pre-EIP-155) deployment tx ---------
DEPLOYER="$(jq -r .deployer "$MC3")"
FUNDING="$(jq -r .funding_wei "$MC3")"
SIGNED_TX="$(jq -r .signed_tx "$MC3")"
MC3_ADDR="$(jq -r .address "$MC3")"
call anvil_setBalance "[\"$DEPLOYER\",\"$FUNDING\"]" >/dev/null
TXHASH="$(call eth_sendRawTransaction "[\"$SIGNED_TX\"]")"
RCPT="$(receipt "$TXHASH")"
[[ "$(jq -r '.contractAddress | ascii_downcase' <<<"$RCPT")" == "${MC3_ADDR,,}" ]] \
  || fail "Multicall3 landed at $(jq -r .contractAddress <<<"$RCPT"), expected $MC3_ADDR"
[[ "$(jq -r '.from | ascii_downcase' <<<"$RCPT")" == "${DEPLOYER,,}" ]] || fail "unexpected sender"
CODE="$(call eth_getCode "[\"$MC3_ADDR\",\"latest\"]")"
[[ "$CODE" != "0x" && ${#CODE} -gt 2 ]] || fail "no code at $MC3_ADDR"
ok "Multicall3 at $MC3_ADDR: $(( (${#CODE} - 2) / 2 )) bytes of code, gas used $(( $(jq -r .gasUsed <<<"$RCPT") ))"
GOT="$(ethcall "$MC3_ADDR" 0x3408e470)"  # getChainId()
[[ "$GOT" == "0x$(word "$CHAIN_ID")" ]] || fail "Multicall3.getChainId() returned $GOT"
ok "Multicall3.getChainId() = $CHAIN_ID"

# --- (c) TestERC20: deploy, mint 2^200, read balanceOf ----------------------
FROM="$(call eth_accounts '[]' | jq -r '.[0]')"
HOLDER=0x1111111111111111111111111111111111111111
TWO_POW_200="1$(printf '0%.0s' $(seq 1 50))"  # hex: 1 followed by 50 zeros
ERC20="$(deploy TestERC20)"
ok "TestERC20 deployed at $ERC20 by $FROM"
send "$ERC20" "0x40c10f19$(word "$HOLDER")$(word "$TWO_POW_200")"  # mint(address,uint256)
GOT="$(ethcall "$ERC20" "0x70a08231$(word "$HOLDER")")"            # balanceOf(address)
[[ "$GOT" == "0x$(word "$TWO_POW_200")" ]] || fail "TestERC20.balanceOf = $GOT"
ok "TestERC20.balanceOf(holder) = 2^200 = $GOT"

# --- extra: the other artifacts ---------------------------------------------
ERC721="$(deploy TestERC721)"
send "$ERC721" "0x40c10f19$(word "$HOLDER")$(word 2a)"               # mint(holder, 42)
GOT="$(ethcall "$ERC721" "0x70a08231$(word "$HOLDER")")"
[[ "$GOT" == "0x$(word 1)" ]] || fail "TestERC721.balanceOf after mint = $GOT"
send "$ERC721" "0x42966c68$(word 2a)"                                # burn(42)
GOT="$(ethcall "$ERC721" "0x70a08231$(word "$HOLDER")")"
[[ "$GOT" == "0x$(word 0)" ]] || fail "TestERC721.balanceOf after burn = $GOT"
ok "TestERC721 at $ERC721: mint -> balance 1, burn -> balance 0"

ERC1155="$(deploy TestERC1155)"
send "$ERC1155" "0x156e29f6$(word "$HOLDER")$(word 7)$(word "$TWO_POW_200")"  # mint(holder, 7, 2^200)
GOT="$(ethcall "$ERC1155" "0x00fdd58e$(word "$HOLDER")$(word 7)")"           # balanceOf(address,uint256)
[[ "$GOT" == "0x$(word "$TWO_POW_200")" ]] || fail "TestERC1155.balanceOf = $GOT"
ok "TestERC1155 at $ERC1155: balanceOf(holder, 7) = 2^200"

REVERTING="$(deploy Reverting)"
RESP="$(rpc eth_call "[{\"to\":\"$REVERTING\",\"data\":\"0x70a08231$(word "$HOLDER")\"},\"latest\"]")"
jq -e '.error.data | startswith("0x08c379a0")' <<<"$RESP" >/dev/null \
  || fail "Reverting.balanceOf did not revert with Error(string): $RESP"
jq -e '.error.message | contains("tokbal: balanceOf reverted")' <<<"$RESP" >/dev/null \
  || fail "unexpected revert message: $RESP"
ok "Reverting at $REVERTING: eth_call error $(jq -c '.error | {code, message}' <<<"$RESP")"

SHORT="$(deploy ShortReturn)"
GOT="$(ethcall "$SHORT" "0x70a08231$(word "$HOLDER")")"
[[ "$GOT" == "0xdeadbeef" ]] || fail "ShortReturn.balanceOf returned $GOT"
ok "ShortReturn at $SHORT: balanceOf returns 4 bytes $GOT"

# --- metadata: decimals(), symbol(), name() of the metadata fixtures --------
# Hex of a text's bytes, no prefix.
hexof() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }
# Right-pads hex to whole 32-byte words.
padright() { local h="$1"; while (( ${#h} % 64 != 0 )); do h="${h}0"; done; echo "$h"; }
# The ABI encoding of a one-string answer.
abistr() { local h; h="$(hexof "$1")"; echo "0x$(word 20)$(word "$(printf '%x' $(( ${#h} / 2 )))")$(padright "$h")"; }
DECIMALS=0x313ce567; SYMBOL=0x95d89b41; NAME=0x06fdde03

USD6="$(deploy TestUSD6)"
[[ "$(ethcall "$USD6" $DECIMALS)" == "0x$(word 6)" ]] || fail "TestUSD6.decimals"
[[ "$(ethcall "$USD6" $SYMBOL)" == "$(abistr USDT6)" ]] || fail "TestUSD6.symbol"
[[ "$(ethcall "$USD6" $NAME)" == "$(abistr 'USD Test')" ]] || fail "TestUSD6.name"
send "$USD6" "0x40c10f19$(word "$HOLDER")$(word f4240)"              # mint(holder, 10^6)
[[ "$(ethcall "$USD6" "0x70a08231$(word "$HOLDER")")" == "0x$(word f4240)" ]] || fail "TestUSD6.balanceOf"
ok "TestUSD6 at $USD6: USDT6 / USD Test, 6 decimals, balance 1000000"

MKR="$(deploy TestBytes32Token)"
[[ "$(ethcall "$MKR" $SYMBOL)" == "0x$(padright "$(hexof MKR)")" ]] || fail "TestBytes32Token.symbol"
[[ "$(ethcall "$MKR" $NAME)" == "0x$(padright "$(hexof Maker)")" ]] || fail "TestBytes32Token.name"
[[ "$(ethcall "$MKR" $DECIMALS)" == "0x$(word 12)" ]] || fail "TestBytes32Token.decimals"
send "$MKR" "0x40c10f19$(word "$HOLDER")$(word "$TWO_POW_200")"
[[ "$(ethcall "$MKR" "0x70a08231$(word "$HOLDER")")" == "0x$(word "$TWO_POW_200")" ]] || fail "TestBytes32Token.balanceOf"
ok "TestBytes32Token at $MKR: bytes32 MKR / Maker, 18 decimals, balance 2^200"

HOSTILE="$(deploy HostileMetadata)"
[[ "$(ethcall "$HOSTILE" $SYMBOL)" == "$(abistr HOST)" ]] || fail "HostileMetadata.symbol default"
# setStrings(bytes name, bytes symbol): name 0x1b5b33316d ff 00 e280ae ("\e[31m", a byte that
# is not UTF-8, NUL, U+202E), symbol "X".
SET="0x3fd00b91$(word 40)$(word 80)$(word a)$(padright 1b5b33316dff00e280ae)$(word 1)$(padright 58)"
send "$HOSTILE" "$SET"
[[ "$(ethcall "$HOSTILE" $NAME)" == "0x$(word 20)$(word a)$(padright 1b5b33316dff00e280ae)" ]] \
  || fail "HostileMetadata.name after setStrings: $(ethcall "$HOSTILE" $NAME)"
send "$HOSTILE" "0xeb1bb07e$(word 0)$(word 12c)"                      # setDecimals(WORD, 300)
[[ "$(ethcall "$HOSTILE" $DECIMALS)" == "0x$(word 12c)" ]] || fail "HostileMetadata.decimals 300"
send "$HOSTILE" "0xeb1bb07e$(word 1)$(word 0)"                        # setDecimals(REVERT, 0)
RESP="$(rpc eth_call "[{\"to\":\"$HOSTILE\",\"data\":\"$DECIMALS\"},\"latest\"]")"
jq -e '.error.message | contains("tokbal: decimals reverted")' <<<"$RESP" >/dev/null \
  || fail "HostileMetadata.decimals did not revert: $RESP"
send "$HOSTILE" "0xeb1bb07e$(word 2)$(word 0)"                        # setDecimals(EMPTY, 0)
[[ "$(ethcall "$HOSTILE" $DECIMALS)" == "0x" ]] || fail "HostileMetadata.decimals empty"
send "$HOSTILE" "0xeb1bb07e$(word 3)$(word 6)"                        # setDecimals(SHORT, 6)
[[ "$(ethcall "$HOSTILE" $DECIMALS)" == "0x06" ]] || fail "HostileMetadata.decimals short"
ok "HostileMetadata at $HOSTILE: any name bytes; decimals 300, revert, empty, one byte"

HEAVY="$(deploy HeavyMetadata)"
RESP="$(rpc eth_call "[{\"to\":\"$HEAVY\",\"data\":\"$SYMBOL\"},\"latest\"]")"
jq -e '.error.message | test("out of gas|OutOfGas"; "i")' <<<"$RESP" >/dev/null \
  || fail "HeavyMetadata.symbol did not run out of gas: $(head -c 300 <<<"$RESP")"
GOT="$(ethcall "$HEAVY" $NAME)"
[[ ${#GOT} -eq $(( 2 + 2 * (64 + 1048576) )) ]] || fail "HeavyMetadata.name: ${#GOT} hex characters"
[[ "${GOT:0:130}" == "0x$(word 20)$(word 100000)" && "${GOT: -8}" == "41414141" ]] \
  || fail "HeavyMetadata.name: unexpected head or tail"
send "$HEAVY" "0x698c3f3f$(word 21)"                                  # setNameSize(33)
[[ "$(ethcall "$HEAVY" $NAME)" == "$(abistr "$(printf 'A%.0s' $(seq 1 33))")" ]] \
  || fail "HeavyMetadata.name of 33 bytes"
ok "HeavyMetadata at $HEAVY: symbol() runs out of gas, name() answers 1 MiB"

NAMED="$(deploy TestERC1155Named)"
[[ "$(ethcall "$NAMED" $SYMBOL)" == "$(abistr TBMULTI)" ]] || fail "TestERC1155Named.symbol"
[[ "$(ethcall "$NAMED" $NAME)" == "$(abistr 'Tokbal Test Multi')" ]] || fail "TestERC1155Named.name"
RESP="$(rpc eth_call "[{\"to\":\"$ERC1155\",\"data\":\"$NAME\"},\"latest\"]")"
jq -e 'has("error")' <<<"$RESP" >/dev/null || fail "TestERC1155.name answered: $RESP"
GOT="$(ethcall "$ERC721" $SYMBOL)"
[[ "$GOT" == "$(abistr TBNFT)" ]] || fail "TestERC721.symbol = $GOT"
ok "TestERC1155Named at $NAMED: TBMULTI; TestERC1155 has no name(); TestERC721 is TBNFT"

# --- holders: scripted histories, a silent balance change -------------------
# Sends like send, prints the receipt (for its logs).
sendr() {
  local hash
  hash="$(call eth_sendTransaction "[{\"from\":\"$FROM\",\"to\":\"$1\",\"data\":\"$2\"}]")"
  receipt "$hash"
}
# The event topics of each receipt's logs, one per line.
topics0() { jq -r '.logs[].topics[0]' <<<"$1"; }
TRANSFER=0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef
SINGLE=0xc3d58168c5ae7397731d063d5bbf3d657854427343f4c083240f7aacaa2d0f62
BATCH=0x4a39dc06d4c0dbc64b70af90fd698a233a518aa5d07e595d983b8c0526c8f7fb
A=0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
B=0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
BAL=0x70a08231; SUPPLY=0x18160ddd

S20="$(deploy ScriptedERC20)"
send "$S20" "0x40c10f19$(word $A)$(word 64)"                          # mint(A, 100)
R="$(sendr "$S20" "0xbb35783b$(word $A)$(word $B)$(word 1e)")"        # move(A, B, 30)
[[ "$(topics0 "$R")" == "$TRANSFER" ]] || fail "ScriptedERC20.move: logs $(jq -c .logs <<<"$R")"
send "$S20" "0x9dc29fac$(word $B)$(word a)"                           # burn(B, 10)
R="$(sendr "$S20" "0xbb35783b$(word $A)$(word $A)$(word 5)")"         # move(A, A, 5)
[[ "$(jq -r '.logs[0].topics[1]' <<<"$R")" == "0x$(word $A)" && "$(jq -r '.logs[0].topics[2]' <<<"$R")" == "0x$(word $A)" ]] \
  || fail "ScriptedERC20.move to self: $(jq -c .logs <<<"$R")"
R="$(sendr "$S20" "0x4029a3ce$(word 40)$(word a0)$(word 2)$(word $A)$(word $B)$(word 2)$(word 1)$(word 2)")"  # mintMany([A,B],[1,2])
[[ "$(jq '.logs | length' <<<"$R")" == 2 ]] || fail "ScriptedERC20.mintMany: $(jq -c .logs <<<"$R")"
[[ "$(ethcall "$S20" "$BAL$(word $A)")" == "0x$(word 47)" ]] || fail "ScriptedERC20 balance of A"  # 71
[[ "$(ethcall "$S20" "$BAL$(word $B)")" == "0x$(word 16)" ]] || fail "ScriptedERC20 balance of B"  # 22
[[ "$(ethcall "$S20" $SUPPLY)" == "0x$(word 5d)" ]] || fail "ScriptedERC20.totalSupply"          # 93
ok "ScriptedERC20 at $S20: mint, move (to self too), burn, mintMany; one Transfer each"

for NFT in ScriptedERC721 ScriptedERC721Enumerable; do
  C="$(deploy $NFT)"
  send "$C" "0x40c10f19$(word $A)$(word 1)"                             # mint(A, 1)
  send "$C" "0x40c10f19$(word $A)$(word 2)"                             # mint(A, 2)
  R="$(sendr "$C" "0xbb35783b$(word $A)$(word $B)$(word 1)")"           # move(A, B, 1)
  [[ "$(topics0 "$R")" == "$TRANSFER" ]] || fail "$NFT.move: logs $(jq -c .logs <<<"$R")"
  send "$C" "0x42966c68$(word 2)"                                        # burn(2)
  [[ "$(ethcall "$C" "$BAL$(word $A)")" == "0x$(word 0)" ]] || fail "$NFT balance of A"
  [[ "$(ethcall "$C" "$BAL$(word $B)")" == "0x$(word 1)" ]] || fail "$NFT balance of B"
  [[ "$(ethcall "$C" "0x6352211e$(word 1)")" == "0x$(word $B)" ]] || fail "$NFT.ownerOf(1)"
  RESP="$(rpc eth_call "[{\"to\":\"$C\",\"data\":\"$SUPPLY\"},\"latest\"]")"
  if [[ $NFT == ScriptedERC721Enumerable ]]; then
    [[ "$(jq -r .result <<<"$RESP")" == "0x$(word 1)" ]] || fail "$NFT.totalSupply: $RESP"
  else
    jq -e 'has("error")' <<<"$RESP" >/dev/null || fail "$NFT.totalSupply answered: $RESP"
  fi
  ok "$NFT at $C: mint, move, burn$([[ $NFT == ScriptedERC721 ]] && echo ', no totalSupply()' || echo ', totalSupply() 1')"
done

for MULTI in ScriptedERC1155 ScriptedERC1155Supply; do
  C="$(deploy $MULTI)"
  R="$(sendr "$C" "0xd81d0a15$(word $A)$(word 60)$(word c0)$(word 2)$(word 7)$(word 8)$(word 2)$(word a)$(word 14)")"  # mintBatch(A,[7,8],[10,20])
  [[ "$(topics0 "$R")" == "$BATCH" ]] || fail "$MULTI.mintBatch: logs $(jq -c .logs <<<"$R")"
  # moveBatch(A, B, [7, 8, 7], [1, 2, 3]): one TransferBatch, id 7 twice.
  R="$(sendr "$C" "0x217e576c$(word $A)$(word $B)$(word 80)$(word 100)$(word 3)$(word 7)$(word 8)$(word 7)$(word 3)$(word 1)$(word 2)$(word 3)")"
  [[ "$(topics0 "$R")" == "$BATCH" ]] || fail "$MULTI.moveBatch: logs $(jq -c .logs <<<"$R")"
  send "$C" "0x6b20c454$(word $B)$(word 60)$(word c0)$(word 2)$(word 7)$(word 8)$(word 2)$(word 4)$(word 1)"  # burnBatch(B,[7,8],[4,1])
  R="$(sendr "$C" "0xa7e1ddc2$(word $A)$(word $B)$(word 8)$(word 3)")"  # move(A, B, 8, 3)
  [[ "$(topics0 "$R")" == "$SINGLE" ]] || fail "$MULTI.move: logs $(jq -c .logs <<<"$R")"
  send "$C" "0xf5298aca$(word $A)$(word 8)$(word 5)"                    # burn(A, 8, 5)
  for check in "$A 7 6" "$A 8 a" "$B 7 0" "$B 8 4"; do                   # A: 6 of 7, 10 of 8; B: 0, 4
    read -r who id want <<<"$check"
    GOT="$(ethcall "$C" "0x00fdd58e$(word "$who")$(word "$id")")"
    [[ "$GOT" == "0x$(word "$want")" ]] || fail "$MULTI.balanceOf($who, $id) = $GOT"
  done
  RESP="$(rpc eth_call "[{\"to\":\"$C\",\"data\":\"0xbd85b039$(word 8)\"},\"latest\"]")"  # totalSupply(8)
  if [[ $MULTI == ScriptedERC1155Supply ]]; then
    [[ "$(jq -r .result <<<"$RESP")" == "0x$(word e)" ]] || fail "$MULTI.totalSupply(8): $RESP"  # 14
  else
    jq -e 'has("error")' <<<"$RESP" >/dev/null || fail "$MULTI.totalSupply(8) answered: $RESP"
  fi
  ok "$MULTI at $C: mintBatch, moveBatch (an id twice), burnBatch, move, burn"
done

SILENT="$(deploy SilentERC20)"
send "$SILENT" "0x40c10f19$(word $A)$(word 64)"                      # mint(A, 100)
R="$(sendr "$SILENT" "0x96269cc8$(word $B)$(word 32)")"              # setBalanceSilently(B, 50)
[[ "$(jq '.logs | length' <<<"$R")" == 0 ]] || fail "SilentERC20.setBalanceSilently logged: $(jq -c .logs <<<"$R")"
[[ "$(ethcall "$SILENT" "$BAL$(word $B)")" == "0x$(word 32)" ]] || fail "SilentERC20 balance of B"
[[ "$(ethcall "$SILENT" $SUPPLY)" == "0x$(word 96)" ]] || fail "SilentERC20.totalSupply"  # 150
ok "SilentERC20 at $SILENT: setBalanceSilently changes a balance and the supply, no log"

# --- (d) stop anvil ----------------------------------------------------------
kill "$ANVIL_PID"
wait "$ANVIL_PID" 2>/dev/null || true
ok "anvil stopped"
echo "verify.sh: all checks passed"
