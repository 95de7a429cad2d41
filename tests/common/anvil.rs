//! A local anvil node for the EVM tests, driven over raw JSON-RPC.
//!
//! Include it with `#[path = "common/anvil.rs"] mod anvil;` in a test target that has
//! `required-features = ["evm"]`, then:
//!
//! ```ignore
//! let Some(node) = Anvil::start().await else { return };
//! ```
//!
//! # Finding anvil
//!
//! `TOKBAL_ANVIL` names the binary; without it, the one `npm ci` installs in `evm-fixtures/`
//! (`evm-fixtures/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil`). When it is missing,
//! [`Anvil::start`] panics under `CI=true` ("anvil is missing: run npm ci in evm-fixtures") and
//! otherwise prints "skipped: anvil not found at ..." to stderr and returns `None`.
//!
//! # Installing anvil
//!
//! Without `TOKBAL_ANVIL`, [`Anvil::start`] first makes sure `evm-fixtures/node_modules` is
//! there: when it is absent and `npm` is on the `PATH` (on Linux x86-64, the only platform
//! the pinned anvil package is built for), it runs `npm ci --prefix evm-fixtures --no-audit
//! --no-fund` from the committed lockfile, once ([`prepare_fixtures`]). Test threads of one
//! process wait for the first; test processes running side by side (several test binaries,
//! or a runner that starts one process per test) take an exclusive `flock` on
//! `evm-fixtures/.npm-ci.lock` and look again once they hold it, so only one of them
//! installs and none sees a half-written `node_modules` ([`install_once`]). The kernel drops
//! the lock when its holder exits, killed or not. Without `npm`, nothing is installed and the
//! tests skip as above; an `npm ci` that fails is a test failure, with npm's output.
//!
//! # The node
//!
//! One anvil process per [`Anvil`], on `127.0.0.1` and a port the OS picks (read from its
//! `Listening on 127.0.0.1:PORT` line); dropping the value kills and reaps the process, also
//! when the test panics. Chain id 31337, ten unlocked dev accounts (transactions here come
//! from the first, [`DEV_ACCOUNT`]), automine: every transaction is mined at once in a block
//! of its own.
//!
//! # What anvil 1.7.1 does with blocks (checked against the node; see tests/anvil_fixture.rs)
//!
//! - **Cheats change the tip's state.** `anvil_setBalance` (like the other `anvil_set*`
//!   methods) mines nothing: it edits the live state, which is the state of the current tip
//!   block N. anvil snapshots block N's state only when block N+1 is mined, so the edit stays
//!   in block N's history for good: "set, then mine" gives the new value at N *and* N+1, and
//!   the old value only before N. [`Anvil::set_native_balance`] therefore mines an empty block
//!   first and edits the state of that new tip: the blocks before it keep the old balance.
//! - **Transactions** land in the block they are mined in: the block before reads the old
//!   value, theirs the new one.
//! - **Timestamps.** The genesis block carries the wall-clock time anvil started at.
//!   `evm_setNextBlockTimestamp T` then `evm_mine` gives a block at exactly T. T may equal the
//!   previous block's timestamp (timestamps only never decrease: two blocks can share one);
//!   a smaller T is refused with error -32602 "Timestamp error: T is lower than previous
//!   block's timestamp". Later blocks go on from T plus the wall-clock time since, so blocks
//!   mined within the same second share a timestamp; `anvil_mine [n, interval]` spaces them.
//! - **History.** Every block's state stays queryable (`eth_call`, `eth_getBalance` by
//!   number). By default anvil keeps 500 states in memory and writes older ones to a
//!   directory under `~/.foundry/anvil/tmp` that a killed node never removes; the harness
//!   passes `--prune-history 100000`, which keeps up to 100 000 states in memory and never
//!   touches the disk. A block above the tip is refused with -32602 "BlockOutOfRangeError".
//! - **Automine off** (`evm_setAutomine false`, [`Anvil::set_automine`]): transactions wait in
//!   the pool and `evm_mine` puts them all in one block, in nonce order. `eth_sendTransaction`
//!   without `gas` estimates against the latest block, not the pool; when that estimate
//!   reverts (a transfer of tokens a pending mint has not yet credited) it is not refused: it
//!   gets the whole block gas limit as its gas, so it cannot share a block and is mined alone
//!   in a later one. [`Anvil::submit`] therefore takes the gas.
//! - **Reverts.** A reverting `eth_call` answers error code 3, message "execution reverted:
//!   <reason>", and `data` the revert bytes (`Error(string)`, selector 0x08c379a0).
//! - **Gas.** An `eth_call` without `gas` runs with the block gas limit (30,000,000); one that
//!   runs out answers error -32603 "EVM error OutOfGas" (HeavyMetadata's `symbol()`). Inside
//!   Multicall3's `aggregate3` such a call takes 63/64 of the gas left and fails alone (with
//!   `allowFailure`), and a call answering a mebibyte (HeavyMetadata's `name()`) comes back
//!   whole: the calls beside them are answered. After a burnt call, though, the 1/64 left is
//!   too little for the mebibyte (millions of gas of memory), which then fails too; and a
//!   burnt call after the mebibyte leaves Multicall3 too little gas to encode its answer: the
//!   whole `eth_call` runs out of gas, every call in it lost.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy_primitives::{address, hex, Address, Bytes, B256, U256};
use alloy_sol_types::{sol, SolCall};
use serde_json::{json, Value};

sol! {
    /// evm-fixtures/contracts/TestERC20.sol
    interface TestERC20 {
        function mint(address to, uint256 amount) external;
        function balanceOf(address owner) external view returns (uint256);
        function totalSupply() external view returns (uint256);
        function decimals() external view returns (uint8);
    }

    /// evm-fixtures/contracts/TestERC721.sol
    interface TestERC721 {
        function mint(address to, uint256 id) external;
        function burn(uint256 id) external;
        function balanceOf(address owner) external view returns (uint256);
        function ownerOf(uint256 id) external view returns (address);
    }

    /// evm-fixtures/contracts/TestERC1155.sol
    interface TestERC1155 {
        function mint(address to, uint256 id, uint256 amount) external;
        function balanceOf(address account, uint256 id) external view returns (uint256);
    }

    /// What the tests read of a token's metadata, declared as each fixture answers it:
    /// `string` for the OpenZeppelin tokens, TestUSD6 and HostileMetadata (with its
    /// defaults), TestERC1155Named; TestBytes32Token answers `bytes32` instead (see
    /// [`Bytes32Metadata`]).
    interface TokenMetadataFixture {
        function name() external view returns (string);
        function symbol() external view returns (string);
        function decimals() external view returns (uint256);
    }

    /// The same functions read as raw bytes (an ABI `string` and `bytes` are encoded alike),
    /// for strings that are not UTF-8.
    interface RawStrings {
        function name() external view returns (bytes);
        function symbol() external view returns (bytes);
    }

    /// evm-fixtures/contracts/TestBytes32Token.sol: MKR-shaped metadata.
    interface Bytes32Metadata {
        function name() external view returns (bytes32);
        function symbol() external view returns (bytes32);
        function decimals() external view returns (uint256);
    }

    /// evm-fixtures/contracts/HostileMetadata.sol (mint and balanceOf as [`TestERC20`]).
    interface HostileMetadata {
        function setStrings(bytes name, bytes symbol) external;
        function setDecimals(uint8 mode, uint256 value) external;
    }

    /// evm-fixtures/contracts/HeavyMetadata.sol (mint and balanceOf as [`TestERC20`]).
    interface HeavyMetadata {
        function setNameSize(uint256 size) external;
        function nameSize() external view returns (uint256);
    }

    /// evm-fixtures/contracts/ScriptedERC20.sol: one sender scripts every transfer.
    interface ScriptedERC20 {
        event Transfer(address indexed from, address indexed to, uint256 value);
        function mint(address to, uint256 amount) external;
        function mintMany(address[] to, uint256[] amounts) external;
        function burn(address from, uint256 amount) external;
        function move(address from, address to, uint256 amount) external;
        function balanceOf(address owner) external view returns (uint256);
        function totalSupply() external view returns (uint256);
    }

    /// evm-fixtures/contracts/ScriptedERC721.sol: ScriptedERC721 (no `totalSupply()`) and
    /// ScriptedERC721Enumerable.
    interface ScriptedERC721 {
        function mint(address to, uint256 id) external;
        function burn(uint256 id) external;
        function move(address from, address to, uint256 id) external;
        function balanceOf(address owner) external view returns (uint256);
        function ownerOf(uint256 id) external view returns (address);
        function totalSupply() external view returns (uint256);
    }

    /// evm-fixtures/contracts/ScriptedERC1155.sol: ScriptedERC1155 (no supply) and
    /// ScriptedERC1155Supply (`totalSupply(id)`).
    interface ScriptedERC1155 {
        event TransferSingle(address indexed operator, address indexed from, address indexed to, uint256 id, uint256 value);
        event TransferBatch(address indexed operator, address indexed from, address indexed to, uint256[] ids, uint256[] values);
        function mint(address to, uint256 id, uint256 amount) external;
        function mintBatch(address to, uint256[] ids, uint256[] amounts) external;
        function burn(address from, uint256 id, uint256 amount) external;
        function burnBatch(address from, uint256[] ids, uint256[] amounts) external;
        function move(address from, address to, uint256 id, uint256 amount) external;
        function moveBatch(address from, address to, uint256[] ids, uint256[] amounts) external;
        function balanceOf(address account, uint256 id) external view returns (uint256);
        function totalSupply(uint256 id) external view returns (uint256);
    }

    /// evm-fixtures/contracts/SilentERC20.sol: balances that change without events.
    interface SilentERC20 {
        function mint(address to, uint256 amount) external;
        function move(address from, address to, uint256 amount) external;
        function setBalanceSilently(address owner, uint256 amount) external;
        function balanceOf(address owner) external view returns (uint256);
        function totalSupply() external view returns (uint256);
    }

    /// The part of Multicall3 (mds1/multicall3) the tests use.
    interface Multicall3 {
        struct Call3 {
            address target;
            bool allowFailure;
            bytes callData;
        }
        struct Result {
            bool success;
            bytes returnData;
        }
        function aggregate3(Call3[] calldata calls) external payable returns (Result[] memory returnData);
        function getChainId() external view returns (uint256 chainid);
        function getEthBalance(address addr) external view returns (uint256 balance);
        function getBlockNumber() external view returns (uint256 blockNumber);
        function getCurrentBlockTimestamp() external view returns (uint256 timestamp);
    }
}

/// How HostileMetadata's `decimals()` answers ([`Anvil::set_decimals`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecimalsMode {
    /// The value given, as a whole 32-byte word (300 included).
    Word = 0,
    /// A revert with `Error("tokbal: decimals reverted")`.
    Revert = 1,
    /// No data at all.
    Empty = 2,
    /// One byte: the value's low byte.
    Short = 3,
}

/// anvil's chain id.
pub const CHAIN_ID: u64 = 31337;
/// The first unlocked dev account: the sender of [`Anvil::send`] and [`Anvil::deploy`].
pub const DEV_ACCOUNT: Address = address!("f39fd6e51aad88f6f4ce6ab8827279cfffb92266");
/// Where the canonical pre-signed deployment puts Multicall3, on every chain.
pub const MULTICALL3: Address = address!("cA11bde05977b3631167028862bE2a173976CA11");

/// How long anvil may take to print its port, and one JSON-RPC request to answer.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Lines of anvil's output kept for failure messages.
const OUTPUT_LINES: usize = 200;

/// Where the tests look for anvil: `TOKBAL_ANVIL` if set and not empty, else the binary that
/// `npm ci` installs in `evm-fixtures/`.
pub fn anvil_binary() -> PathBuf {
    anvil_from_env().unwrap_or_else(|| {
        fixtures_dir().join("node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil")
    })
}

/// `TOKBAL_ANVIL`, when set and not empty.
fn anvil_from_env() -> Option<PathBuf> {
    std::env::var_os("TOKBAL_ANVIL")
        .filter(|path| !path.is_empty())
        .map(PathBuf::from)
}

/// What [`install_once`] found or did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fixtures {
    /// `node_modules` was there already (installed before, or by another caller meanwhile).
    Present,
    /// `node_modules` was absent: this call installed it.
    Installed,
    /// `node_modules` is absent and there is no `npm` to install it with.
    NoNpm,
}

/// The lock file, in the fixtures folder, that installers take in turn.
pub const INSTALL_LOCK: &str = ".npm-ci.lock";

/// Makes sure `evm-fixtures/node_modules` is there, once per process (see the module docs):
/// runs `npm ci` when it is absent and `npm` is on the `PATH`. `Err` carries npm's output
/// when that fails.
pub fn prepare_fixtures() -> Result<Fixtures, String> {
    static PREPARED: std::sync::OnceLock<Result<Fixtures, String>> = std::sync::OnceLock::new();
    PREPARED
        .get_or_init(|| {
            // The pinned anvil package is built for Linux x86-64 only: elsewhere npm ci would
            // refuse it, so the tests skip as they would without npm.
            if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
                return Ok(Fixtures::NoNpm);
            }
            #[cfg(unix)]
            {
                let npm = find_on_path("npm", std::env::var_os("PATH").as_deref());
                install_once(&fixtures_dir(), npm.as_deref(), npm_ci)
            }
            #[cfg(not(unix))]
            Ok(Fixtures::NoNpm)
        })
        .clone()
}

/// Runs `install(npm, fixtures)` when `fixtures/node_modules` is absent and `npm` is given,
/// at most once however many threads and processes call this for the same folder at the same
/// time: each takes an exclusive `flock` on `fixtures/`[`INSTALL_LOCK`] (waiting for the
/// holder) and only then looks for `node_modules`, so the first installs and the others find
/// it whole. Without `npm` nothing is locked or run. `Err` when `install` fails or leaves no
/// `node_modules`.
#[cfg(unix)]
pub fn install_once(
    fixtures: &Path,
    npm: Option<&Path>,
    install: impl FnOnce(&Path, &Path) -> Result<(), String>,
) -> Result<Fixtures, String> {
    let node_modules = fixtures.join("node_modules");
    let Some(npm) = npm else {
        return Ok(if node_modules.is_dir() {
            Fixtures::Present
        } else {
            Fixtures::NoNpm
        });
    };
    // Taken even when node_modules is there: it may be another process's install under way.
    let _lock = InstallLock::take(&fixtures.join(INSTALL_LOCK))?;
    if node_modules.is_dir() {
        return Ok(Fixtures::Present);
    }
    install(npm, fixtures)?;
    if !node_modules.is_dir() {
        return Err(format!(
            "npm ci in {} left no node_modules",
            fixtures.display()
        ));
    }
    Ok(Fixtures::Installed)
}

/// An exclusive `flock` on a file, held until dropped (or until the process exits).
#[cfg(unix)]
struct InstallLock(std::fs::File);

#[cfg(unix)]
impl InstallLock {
    /// Opens (creating it if need be) and locks `path`, waiting for the holder if any.
    fn take(path: &Path) -> Result<InstallLock, String> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| format!("cannot open the lock file {}: {e}", path.display()))?;
        loop {
            match rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive) {
                Ok(()) => return Ok(InstallLock(file)),
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(format!("cannot lock {}: {e}", path.display())),
            }
        }
    }
}

/// The first executable file named `program` in the directories of `path` (a `PATH` value).
#[cfg(unix)]
pub fn find_on_path(program: &str, path: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(path?)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(program))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// `npm ci --prefix FIXTURES --no-audit --no-fund`: the packages of the committed lockfile.
fn npm_ci(npm: &Path, fixtures: &Path) -> Result<(), String> {
    eprintln!(
        "{}/node_modules is absent: running npm ci --prefix {} --no-audit --no-fund",
        fixtures.display(),
        fixtures.display()
    );
    let output = Command::new(npm)
        .arg("ci")
        .arg("--prefix")
        .arg(fixtures)
        .args(["--no-audit", "--no-fund"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", npm.display()))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "npm ci --prefix {} failed ({}); install anvil by hand (npm ci in evm-fixtures) or \
         name one with TOKBAL_ANVIL:\n{}\n{}",
        fixtures.display(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

/// `evm-fixtures/` of this checkout.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("evm-fixtures")
}

/// Whether this is a CI run (`CI=true`, as CI runners set it): a missing anvil then fails.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// `evm-fixtures/artifacts/<name>.json`: `{ contractName, abi, bytecode }`.
pub fn artifact(name: &str) -> Value {
    let path = fixtures_dir()
        .join("artifacts")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read the artifact {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A mined transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Landed {
    pub tx: B256,
    /// The block it was mined in.
    pub block: u64,
    pub block_hash: B256,
    /// The created contract, for a deployment.
    pub contract: Option<Address>,
}

/// The child process: killed and reaped when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        // SIGKILL, then wait: no zombie, whether the test passed or panicked. An error means
        // the process already exited; wait reaps it all the same.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running anvil node on 127.0.0.1.
pub struct Anvil {
    process: Process,
    port: u16,
    url: String,
    http: reqwest::Client,
    next_id: AtomicU64,
    output: Arc<Mutex<VecDeque<String>>>,
}

impl Anvil {
    /// Starts anvil from [`anvil_binary`], after [`prepare_fixtures`] when `TOKBAL_ANVIL` is
    /// not set; `None` (after a note on stderr) when there is none and this is not CI. Panics
    /// when `npm ci` fails, when anvil is missing under `CI=true`, or when it fails to start.
    pub async fn start() -> Option<Anvil> {
        if anvil_from_env().is_none() {
            let prepared = tokio::task::spawn_blocking(prepare_fixtures)
                .await
                .expect("preparing evm-fixtures panicked");
            if let Err(error) = prepared {
                panic!("{error}");
            }
        }
        Self::start_with(&anvil_binary(), in_ci()).await
    }

    /// [`Anvil::start`] with the binary and the CI flag given.
    pub async fn start_with(binary: &Path, ci: bool) -> Option<Anvil> {
        if !binary.is_file() {
            if ci {
                panic!(
                    "anvil is missing: run npm ci in evm-fixtures (no anvil at {}; TOKBAL_ANVIL \
                     names another binary)",
                    binary.display()
                );
            }
            eprintln!(
                "skipped: anvil not found at {} (run npm ci in evm-fixtures, or set TOKBAL_ANVIL)",
                binary.display()
            );
            return None;
        }
        tokbal::tls::ensure_crypto_provider();

        // stdout and stderr share one pipe, drained by a thread for as long as anvil runs
        // (it logs every request: a full pipe would stall it).
        let (reader, writer) = std::io::pipe().expect("a pipe for anvil's output");
        let mut command = Command::new(binary);
        command
            .args(["--host", "127.0.0.1", "--port", "0"])
            // History in memory only: nothing under ~/.foundry/anvil/tmp (see the module docs).
            .args(["--prune-history", "100000"])
            .stdin(Stdio::null())
            .stdout(writer.try_clone().expect("a pipe for anvil's output"))
            .stderr(writer);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start anvil at {}: {e}", binary.display()));
        // The command holds the pipe's write ends: drop it, or the reader never sees the end.
        drop(command);
        let mut process = Process(child);

        let output = Arc::new(Mutex::new(VecDeque::new()));
        let (listening, port) = tokio::sync::oneshot::channel::<String>();
        let lines = Arc::clone(&output);
        std::thread::Builder::new()
            .name("anvil-output".into())
            .spawn(move || drain(reader, listening, lines))
            .expect("a thread for anvil's output");

        let address = match tokio::time::timeout(STARTUP_TIMEOUT, port).await {
            Ok(Ok(address)) => address,
            Ok(Err(_)) => {
                let status = process.0.wait().map(|s| s.to_string()).unwrap_or_default();
                panic!(
                    "anvil exited ({status}) before listening:\n{}",
                    tail(&output)
                )
            }
            Err(_) => panic!(
                "anvil printed no 'Listening on' line within {STARTUP_TIMEOUT:?}:\n{}",
                tail(&output)
            ),
        };
        let port: u16 = address
            .strip_prefix("127.0.0.1:")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("unexpected anvil address {address:?}"));
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .expect("an HTTP client");
        Some(Anvil {
            process,
            port,
            url: format!("http://127.0.0.1:{port}"),
            http,
            next_id: AtomicU64::new(1),
            output,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The anvil process's id.
    pub fn pid(&self) -> u32 {
        self.process.0.id()
    }

    /// The last lines anvil printed.
    pub fn output(&self) -> String {
        tail(&self.output)
    }

    /// One JSON-RPC call: `Ok(result)` or `Err(error object)`. Panics when the node cannot be
    /// reached or answers something that is not JSON-RPC.
    pub async fn rpc(&self, method: &str, params: Value) -> Result<Value, Value> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let request = json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params });
        let response = self
            .http
            .post(&self.url)
            .json(&request)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method}: anvil at {} unreachable: {e}", self.url));
        let status = response.status();
        let body: Value = response
            .json()
            .await
            .unwrap_or_else(|e| panic!("{method}: HTTP {status}, body not JSON: {e}"));
        if let Some(error) = body.get("error") {
            return Err(error.clone());
        }
        match body.get("result") {
            Some(result) => Ok(result.clone()),
            None => panic!("{method}: neither result nor error in {body}"),
        }
    }

    /// [`Anvil::rpc`], panicking on a JSON-RPC error.
    pub async fn rpc_ok(&self, method: &str, params: Value) -> Value {
        let shown = params.to_string();
        self.rpc(method, params)
            .await
            .unwrap_or_else(|e| panic!("{method} {shown}: error {e}"))
    }

    /// Puts Multicall3 at [`MULTICALL3`] with its canonical pre-signed deployment (funding the
    /// deployer first); does nothing when it is there already.
    pub async fn deploy_multicall3(&self) -> Address {
        let manifest_path = fixtures_dir().join("multicall3/deploy.json");
        let manifest: Value = serde_json::from_str(
            &std::fs::read_to_string(&manifest_path)
                .unwrap_or_else(|e| panic!("{}: {e}", manifest_path.display())),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", manifest_path.display()));
        let field = |name: &str| {
            manifest[name]
                .as_str()
                .unwrap_or_else(|| panic!("{}: no {name}", manifest_path.display()))
                .to_owned()
        };
        let address: Address = field("address").parse().expect("Multicall3 address");
        assert_eq!(address, MULTICALL3, "{}", manifest_path.display());
        if !self.code(address).await.is_empty() {
            return address;
        }
        let deployer: Address = field("deployer").parse().expect("Multicall3 deployer");
        let funding: U256 = field("funding_wei")
            .parse()
            .expect("Multicall3 funding_wei");
        self.set_native_balance(deployer, funding).await;
        let tx = self
            .rpc_ok("eth_sendRawTransaction", json!([field("signed_tx")]))
            .await;
        let landed = self.receipt(parse(&tx, "transaction hash")).await;
        assert_eq!(
            landed.contract,
            Some(address),
            "Multicall3 landed elsewhere"
        );
        assert!(!self.code(address).await.is_empty(), "no code at {address}");
        address
    }

    /// Deploys `evm-fixtures/artifacts/<name>.json` from [`DEV_ACCOUNT`]; returns its address.
    pub async fn deploy(&self, name: &str) -> Address {
        let artifact = artifact(name);
        let bytecode = artifact["bytecode"]
            .as_str()
            .unwrap_or_else(|| panic!("artifact {name}: no bytecode"));
        let tx = self
            .rpc_ok(
                "eth_sendTransaction",
                json!([{ "from": DEV_ACCOUNT.to_string(), "data": bytecode }]),
            )
            .await;
        let landed = self.receipt(parse(&tx, "transaction hash")).await;
        let address = landed
            .contract
            .unwrap_or_else(|| panic!("deploying {name}: no contractAddress"));
        assert!(
            !self.code(address).await.is_empty(),
            "{name}: no code at {address}"
        );
        address
    }

    /// Sends `calldata` to `to` from [`DEV_ACCOUNT`] and waits for its receipt (automine:
    /// at once). Panics when the node refuses it or it reverts.
    pub async fn send(&self, to: Address, calldata: impl AsRef<[u8]>) -> Landed {
        let data = hex::encode_prefixed(calldata.as_ref());
        let tx = self
            .rpc_ok(
                "eth_sendTransaction",
                json!([{ "from": DEV_ACCOUNT.to_string(), "to": to.to_string(), "data": data }]),
            )
            .await;
        self.receipt(parse(&tx, "transaction hash")).await
    }

    /// Turns automine on (every transaction mined at once, the default) or off (transactions
    /// wait in the pool until [`Anvil::mine`]).
    pub async fn set_automine(&self, on: bool) {
        self.rpc_ok("evm_setAutomine", json!([on])).await;
    }

    /// Sends `calldata` to `to` from [`DEV_ACCOUNT`] with a gas limit of `gas`, without
    /// waiting for it to be mined (with automine off it waits in the pool); returns its hash,
    /// for [`Anvil::landed`]. The gas is given because anvil estimates it against the latest
    /// block, not the pool: a transaction that only succeeds after another pending one would
    /// fail the estimate, and anvil then gives it the whole block gas limit (30,000,000), which
    /// pushes it alone into a later block (see the module docs).
    pub async fn submit(&self, to: Address, calldata: impl AsRef<[u8]>, gas: u64) -> B256 {
        let data = hex::encode_prefixed(calldata.as_ref());
        let tx = self
            .rpc_ok(
                "eth_sendTransaction",
                json!([{
                    "from": DEV_ACCOUNT.to_string(),
                    "to": to.to_string(),
                    "data": data,
                    "gas": quantity(gas),
                }]),
            )
            .await;
        parse(&tx, "transaction hash")
    }

    /// Mines one block with whatever the pool holds: its number and hash.
    pub async fn mine(&self) -> (u64, B256) {
        self.rpc_ok("evm_mine", json!([])).await;
        let (number, hash, _) = self.tip().await;
        (number, hash)
    }

    /// The receipt of a mined transaction; panics when it failed or is not mined within 5 s.
    pub async fn landed(&self, tx: B256) -> Landed {
        self.receipt(tx).await
    }

    /// TestERC20.mint(to, amount).
    pub async fn mint_erc20(&self, token: Address, to: Address, amount: U256) -> Landed {
        self.send(token, TestERC20::mintCall { to, amount }.abi_encode())
            .await
    }

    /// TestERC721.mint(to, id).
    pub async fn mint_erc721(&self, token: Address, to: Address, id: U256) -> Landed {
        self.send(token, TestERC721::mintCall { to, id }.abi_encode())
            .await
    }

    /// TestERC721.burn(id).
    pub async fn burn_erc721(&self, token: Address, id: U256) -> Landed {
        self.send(token, TestERC721::burnCall { id }.abi_encode())
            .await
    }

    /// TestERC1155.mint(to, id, amount).
    pub async fn mint_erc1155(
        &self,
        token: Address,
        to: Address,
        id: U256,
        amount: U256,
    ) -> Landed {
        self.send(token, TestERC1155::mintCall { to, id, amount }.abi_encode())
            .await
    }

    /// HostileMetadata.setStrings(name, symbol): from the block it lands in, `name()` and
    /// `symbol()` answer these bytes (any bytes, UTF-8 or not) as ABI strings.
    pub async fn set_strings(&self, token: Address, name: &[u8], symbol: &[u8]) -> Landed {
        let call = HostileMetadata::setStringsCall {
            name: Bytes::copy_from_slice(name),
            symbol: Bytes::copy_from_slice(symbol),
        };
        self.send(token, call.abi_encode()).await
    }

    /// HostileMetadata.setDecimals(mode, value): how `decimals()` answers from the block it
    /// lands in.
    pub async fn set_decimals(&self, token: Address, mode: DecimalsMode, value: U256) -> Landed {
        let call = HostileMetadata::setDecimalsCall {
            mode: mode as u8,
            value,
        };
        self.send(token, call.abi_encode()).await
    }

    /// HeavyMetadata.setNameSize(size): `name()` answers a string of `size` bytes.
    pub async fn set_name_size(&self, token: Address, size: usize) -> Landed {
        let call = HeavyMetadata::setNameSizeCall {
            size: U256::from(size),
        };
        self.send(token, call.abi_encode()).await
    }

    /// Deploys `name` (an ERC-20 fixture with `mint(address,uint256)`) and mints `amount` of
    /// it to each of `holders`; returns its address.
    pub async fn deploy_erc20_minted(&self, name: &str, holders: &[(Address, U256)]) -> Address {
        let token = self.deploy(name).await;
        for (holder, amount) in holders {
            self.mint_erc20(token, *holder, *amount).await;
        }
        token
    }

    /// Sets `address`'s native balance in a new block: mines an empty block, then
    /// `anvil_setBalance`, which edits the state of that new tip (see the module docs: an edit
    /// always belongs to the current tip). The blocks before it read the old balance; it and
    /// the blocks after, the new one. Returns the block (number, hash), the tip afterwards.
    pub async fn set_native_balance(&self, address: Address, wei: U256) -> (u64, B256) {
        self.rpc_ok("evm_mine", json!([])).await;
        self.rpc_ok(
            "anvil_setBalance",
            json!([address.to_string(), format!("{wei:#x}")]),
        )
        .await;
        let (number, hash, _) = self.tip().await;
        (number, hash)
    }

    /// Mines one empty block at `timestamp` (seconds; not below the tip's): number and hash.
    pub async fn mine_at(&self, timestamp: u64) -> (u64, B256) {
        self.rpc_ok("evm_setNextBlockTimestamp", json!([timestamp]))
            .await;
        self.rpc_ok("evm_mine", json!([])).await;
        let (number, hash, mined_at) = self.tip().await;
        assert_eq!(
            mined_at, timestamp,
            "block {number} was mined at another time"
        );
        (number, hash)
    }

    /// Block `number`: (number, hash, timestamp). Panics when there is no such block.
    pub async fn block(&self, number: u64) -> (u64, B256, u64) {
        self.block_by(json!(quantity(number))).await
    }

    /// The latest block: (number, hash, timestamp).
    pub async fn tip(&self) -> (u64, B256, u64) {
        self.block_by(json!("latest")).await
    }

    /// `eth_call` to `to` at block `number`: the returned bytes, or the JSON-RPC error.
    pub async fn eth_call(
        &self,
        to: Address,
        data: impl AsRef<[u8]>,
        number: u64,
    ) -> Result<Bytes, Value> {
        let data = hex::encode_prefixed(data.as_ref());
        let result = self
            .rpc(
                "eth_call",
                json!([{ "to": to.to_string(), "data": data }, quantity(number)]),
            )
            .await?;
        Ok(parse(&result, "eth_call result"))
    }

    /// `eth_getBalance` of `address` at block `number`.
    pub async fn native_balance(&self, address: Address, number: u64) -> U256 {
        let result = self
            .rpc_ok(
                "eth_getBalance",
                json!([address.to_string(), quantity(number)]),
            )
            .await;
        parse(&result, "balance")
    }

    /// `eth_getCode` at the tip.
    pub async fn code(&self, address: Address) -> Bytes {
        let result = self
            .rpc_ok("eth_getCode", json!([address.to_string(), "latest"]))
            .await;
        parse(&result, "code")
    }

    async fn block_by(&self, tag: Value) -> (u64, B256, u64) {
        let shown = tag.to_string();
        let block = self
            .rpc_ok("eth_getBlockByNumber", json!([tag, false]))
            .await;
        assert!(!block.is_null(), "no block {shown}");
        (
            parse_quantity(&block["number"]),
            parse(&block["hash"], "block hash"),
            parse_quantity(&block["timestamp"]),
        )
    }

    /// Waits for the receipt of `tx` and checks that it succeeded.
    async fn receipt(&self, tx: B256) -> Landed {
        for _ in 0..500 {
            let receipt = self
                .rpc_ok("eth_getTransactionReceipt", json!([tx.to_string()]))
                .await;
            if receipt.is_null() {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
            assert_eq!(
                receipt["status"], "0x1",
                "transaction {tx} failed: {receipt}"
            );
            return Landed {
                tx,
                block: parse_quantity(&receipt["blockNumber"]),
                block_hash: parse(&receipt["blockHash"], "block hash"),
                contract: match &receipt["contractAddress"] {
                    Value::Null => None,
                    address => Some(parse(address, "contract address")),
                },
            };
        }
        panic!("no receipt for {tx} after 5 s (is automine off?)")
    }
}

/// Reads anvil's output line by line until it ends, sending the `Listening on` address once.
fn drain(
    reader: std::io::PipeReader,
    listening: tokio::sync::oneshot::Sender<String>,
    lines: Arc<Mutex<VecDeque<String>>>,
) {
    let mut listening = Some(listening);
    for line in BufReader::new(reader).split(b'\n') {
        let Ok(line) = line else { break };
        let line = String::from_utf8_lossy(&line).trim_end().to_owned();
        if let Some(address) = line.trim().strip_prefix("Listening on ") {
            if let Some(listening) = listening.take() {
                let _ = listening.send(address.to_owned());
            }
        }
        let mut lines = lines.lock().unwrap_or_else(|e| e.into_inner());
        if lines.len() == OUTPUT_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }
}

fn tail(lines: &Mutex<VecDeque<String>>) -> String {
    let lines = lines.lock().unwrap_or_else(|e| e.into_inner());
    lines
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join("\n")
}

/// A JSON-RPC quantity: `0x`-prefixed hex, no leading zeros.
pub fn quantity(n: u64) -> String {
    format!("{n:#x}")
}

/// A hex quantity from a JSON string.
pub fn parse_quantity(value: &Value) -> u64 {
    value
        .as_str()
        .and_then(|s| s.strip_prefix("0x"))
        .and_then(|s| u64::from_str_radix(s, 16).ok())
        .unwrap_or_else(|| panic!("not a quantity: {value}"))
}

/// A JSON string parsed as `T` (an address, hash, bytes or U256).
pub fn parse<T: std::str::FromStr>(value: &Value, what: &str) -> T
where
    T::Err: std::fmt::Display,
{
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("{what}: not a string: {value}"));
    text.parse()
        .unwrap_or_else(|e| panic!("{what}: cannot parse {text:?}: {e}"))
}
