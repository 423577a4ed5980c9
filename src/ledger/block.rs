//! Blocks: one per slot, hash-chained from a genesis record.
//!
//! * [`Genesis`] (step 1, `genesis.json`): the protocol version, the chain id, the
//!   validator set (every SCP's key, the oracle's and the EVA's, all distinct), every EV
//!   session's wallet key and terms (session name, kind, capacity, energy at arrival,
//!   arrival, departure, `beta`, `a`, `U_idle`; the sessions of one EV share its key) and
//!   a [`Commitment`] to the run (SHA-256 of the fleet and grid inputs and of the resolved
//!   scenario, which it carries), signed by the EVA. Its hash is the first record of
//!   `ledger.jsonl` and the previous-header hash of block 0: the trust anchor an auditor
//!   pins (`v2g verify --genesis`).
//! * [`Header`]: chain id (in the hashed bytes), height, previous header hash, the previous
//!   block's commit (its precommits and meter attestations, hashed), Merkle root
//!   and count of the slot's transactions, oracle message hash, Merkle root of the SCP
//!   workers' proposals and the validators' verdicts on them, the chosen candidate `k`,
//!   `p_d*` and revenue `R`, the proposer (the SCP worker whose sub-range held `p_d*`), the
//!   EVA's and the operator's accounts, and the Merkle root of the equivocation evidence
//!   of the height's prevotes (votes are in two rounds: prevotes on
//!   [`Header::prevote_hash`], then precommits on the full header).
//! * [`Block`]: the header and the body: the oracle message, the proposals, the
//!   transactions, each SCP's attestation of its meter readings, the SCPs' votes on the
//!   header and any equivocation evidence.

use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

use crate::data::fleet::{Ev, Kind, Limits};
use crate::data::scenario::Scenario;
use crate::ledger::consensus::{Evidence, Proposal, Vote, VoteKind};
use crate::ledger::keys::{public, sign, Keyring};
use crate::ledger::meter::MeterAttestation;
use crate::ledger::oracle::OracleMsg;
use crate::ledger::tx::Tx;
use crate::ledger::units::{micro, sha256, wh, Bytes, Enc, Hash, PublicKey, Sig};

/// The ledger protocol this code writes and verifies.
pub const PROTOCOL: &str = "v2g-ledger/4";

/// What a genesis commits the run to: its inputs and its resolved scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Commitment {
    /// SHA-256 of the fleet input (as read, or a table's CSV form).
    pub fleet_sha256: String,
    /// SHA-256 of the grid input; `null` for a run without grid signals.
    pub grid_sha256: Option<String>,
    /// SHA-256 of the resolved scenario's canonical encoding ([`Scenario::digest`]).
    pub scenario_sha256: String,
    /// The resolved scenario: tariff, Table I values, epsilon, solver, workers and their
    /// capacities, horizon, byzantine count, and the charging sites with their limits.
    pub scenario: Scenario,
    /// SHA-256 of the network's case file (docs/model.md §9); absent without a network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_sha256: Option<String>,
}

impl Commitment {
    /// The commitment of a run built in code: its fleet and grid rows hashed in their CSV
    /// form (`fleet.to_csv()`, the grid rows' CSV), and its scenario.
    pub fn of_run(run: &crate::sim::Run) -> Self {
        let grid = crate::data::grid::GridSignals::new(run.grid_rows().to_vec())
            .map(|g| crate::data::sha256_hex(g.to_csv().as_bytes()))
            .ok();
        Commitment {
            fleet_sha256: crate::data::sha256_hex(run.fleet().to_csv().as_bytes()),
            grid_sha256: grid,
            scenario_sha256: run.scenario().digest(),
            scenario: run.scenario().clone(),
            network_sha256: None,
        }
    }
}

/// An EV session in the genesis record: its wallet key and its terms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wallet {
    /// The EV's id in the fleet file; the sessions of one EV share it and its key.
    pub id: String,
    /// The session's name, when the fleet gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The wallet's public key.
    pub key: PublicKey,
    /// Bus or private car.
    pub kind: Kind,
    /// Battery capacity, kWh.
    pub capacity_kwh: f64,
    /// Energy at arrival, kWh.
    pub initial_kwh: f64,
    /// Plug-in time.
    pub arrival: chrono::NaiveDateTime,
    /// Plug-out time.
    pub departure: chrono::NaiveDateTime,
    /// `beta_i`, when the fleet set it.
    pub beta: Option<f64>,
    /// `a_i`, when the fleet set it.
    pub a: Option<f64>,
    /// `U_idle`, when the fleet set it.
    pub u_idle: Option<f64>,
    /// The session's departure target and charger power, when the fleet set them (absent
    /// in the paper's model).
    #[serde(default, skip_serializing_if = "Limits::is_none")]
    pub limits: Limits,
    /// The charging site the fleet names for the session (docs/model.md §9.2), when it
    /// names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
}

impl Wallet {
    /// The session as a fleet row.
    pub fn ev(&self) -> Ev {
        Ev {
            site: self.site.clone(),
            id: self.id.clone(),
            session_id: self.session_id.clone(),
            kind: self.kind,
            capacity_kwh: self.capacity_kwh,
            initial_kwh: self.initial_kwh,
            arrival: self.arrival,
            departure: self.departure,
            beta: self.beta,
            a: self.a,
            u_idle: self.u_idle,
            limits: self.limits,
        }
    }
}

/// The first record of a ledger (`genesis.json`): the identities, session terms and the
/// run everything else is checked against (step 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    /// [`PROTOCOL`].
    pub protocol: String,
    /// The chain id every signed message carries: derived from the commitment and the
    /// validator keys ([`Genesis::derive_chain_id`]).
    pub chain_id: String,
    /// The run this chain records.
    pub commitment: Commitment,
    /// `E0`, Wh.
    pub e0_wh: i64,
    /// `p_delay`, µCNY paid to each idle EV per slot.
    pub p_delay: i64,
    /// Number of slots of the horizon: the ledger has exactly one block per slot, so a
    /// truncated ledger is caught.
    pub slots: u64,
    /// EV sessions with their wallets, in fleet order (a transaction's `ev` indexes this
    /// list).
    pub evs: Vec<Wallet>,
    /// SCP node keys, in worker order (validators and price-search workers).
    pub scps: Vec<PublicKey>,
    /// The grid operator's oracle key.
    pub oracle: PublicKey,
    /// The EVA's key.
    pub eva: PublicKey,
    /// The EVA's signature over all of the above.
    pub eva_sig: Sig,
}

/// A session's time in the genesis encoding: chrono's `%Y-%m-%dT%H:%M:%S%.f`, the
/// fraction only when there is one, in 3, 6 or 9 digits. Written directly for years 0 to
/// 9999 outside a leap second: chrono's formatter parses its pattern on every call, and
/// the genesis encodes two times per session several times over (chain id, signature,
/// hash), which was most of the time the case study took to make its genesis.
fn time_str(t: &chrono::NaiveDateTime) -> String {
    use chrono::{Datelike, Timelike};
    let (year, nano) = (t.year(), t.nanosecond());
    if !(0..=9999).contains(&year) || nano >= 1_000_000_000 {
        return t.format("%Y-%m-%dT%H:%M:%S%.f").to_string();
    }
    let whole = format!(
        "{year:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    match nano {
        0 => whole,
        n if n % 1_000_000 == 0 => format!("{whole}.{:03}", n / 1_000_000),
        n if n % 1_000 == 0 => format!("{whole}.{:06}", n / 1_000),
        n => format!("{whole}.{n:09}"),
    }
}

fn opt_f64(e: &mut Enc, v: Option<f64>) {
    match v {
        Some(x) => {
            e.u8(1).u64(x.to_bits());
        }
        None => {
            e.u8(0);
        }
    }
}

impl Genesis {
    /// The genesis record of a run: its keys, its fleet's sessions and its commitment,
    /// signed by the EVA.
    pub fn new(ring: &Keyring, evs: &[Ev], commitment: Commitment) -> Self {
        let p = &commitment.scenario.params;
        let mut g = Genesis {
            protocol: PROTOCOL.into(),
            chain_id: String::new(),
            e0_wh: wh(p.e0_kwh),
            p_delay: micro(p.p_delay),
            slots: commitment.scenario.horizon.slots as u64,
            commitment,
            evs: evs
                .iter()
                .zip(&ring.evs)
                .map(|(e, k)| Wallet {
                    id: e.id.clone(),
                    session_id: e.session_id.clone(),
                    key: public(k),
                    kind: e.kind,
                    capacity_kwh: e.capacity_kwh,
                    initial_kwh: e.initial_kwh,
                    arrival: e.arrival,
                    departure: e.departure,
                    beta: e.beta,
                    a: e.a,
                    u_idle: e.u_idle,
                    limits: e.limits,
                    site: e.site.clone(),
                })
                .collect(),
            scps: ring.scps.iter().map(public).collect(),
            oracle: public(&ring.oracle),
            eva: public(&ring.eva),
            eva_sig: Bytes([0; 64]),
        };
        g.chain_id = g.derive_chain_id();
        g.eva_sig = sign(&ring.eva, &g.signed_bytes());
        g
    }

    /// The chain id this genesis must carry: `v2g-` and 32 hex digits of the SHA-256 of
    /// the protocol, the commitment and every key, so two runs share a chain id only if
    /// they share inputs, scenario and keys.
    pub fn derive_chain_id(&self) -> String {
        let mut e = Enc::new("chain", "");
        self.encode_body(&mut e);
        format!("v2g-{}", &sha256(&e.finish()).to_hex()[..32])
    }

    fn encode_body(&self, e: &mut Enc) {
        let c = &self.commitment;
        e.str(&self.protocol)
            .str(&c.fleet_sha256)
            .str(c.grid_sha256.as_deref().unwrap_or(""))
            .u8(u8::from(c.grid_sha256.is_some()))
            .str(&c.scenario_sha256)
            .str(&c.scenario.canonical_json())
            .i64(self.e0_wh)
            .i64(self.p_delay)
            .u64(self.slots)
            .u64(self.evs.len() as u64);
        for w in &self.evs {
            e.str(&w.id)
                .fixed(&w.key.0)
                .str(w.kind.as_str())
                .u64(w.capacity_kwh.to_bits())
                .u64(w.initial_kwh.to_bits())
                .str(&time_str(&w.arrival))
                .str(&time_str(&w.departure));
            opt_f64(e, w.beta);
            opt_f64(e, w.a);
            opt_f64(e, w.u_idle);
        }
        // Sessions' limits only when some session has them, so that the paper's genesis
        // encodes as before: a 0xFF byte (never the first byte of the SCP count that
        // follows otherwise, which is below 2^56) and then every session's limits.
        if self.evs.iter().any(|w| !w.limits.is_none()) {
            e.u8(0xFF);
            for w in &self.evs {
                opt_f64(e, w.limits.target_kwh);
                opt_f64(e, w.limits.max_kw);
                opt_f64(e, w.limits.max_discharge_kw);
            }
        }
        // Session names likewise, after a 0xFE byte (never the first byte of the SCP
        // count either).
        if self.evs.iter().any(|w| w.session_id.is_some()) {
            e.u8(0xFE);
            for w in &self.evs {
                match &w.session_id {
                    Some(s) => e.u8(1).str(s),
                    None => e.u8(0),
                };
            }
        }
        // Sessions' sites likewise, after a 0xFD byte, and the network's hash after 0xFC.
        if self.evs.iter().any(|w| w.site.is_some()) {
            e.u8(0xFD);
            for w in &self.evs {
                match &w.site {
                    Some(s) => e.u8(1).str(s),
                    None => e.u8(0),
                };
            }
        }
        if let Some(n) = &self.commitment.network_sha256 {
            e.u8(0xFC).str(n);
        }
        e.u64(self.scps.len() as u64);
        for k in &self.scps {
            e.fixed(&k.0);
        }
        e.fixed(&self.oracle.0).fixed(&self.eva.0);
    }

    /// The bytes the EVA signs.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut e = Enc::new("genesis", &self.chain_id);
        self.encode_body(&mut e);
        e.finish()
    }

    /// The genesis hash: the ledger's first record and block 0's previous-header hash.
    pub fn hash(&self) -> Hash {
        let mut b = self.signed_bytes();
        b.extend_from_slice(&self.eva_sig.0);
        sha256(&b)
    }
}

/// A block header: what the SCPs vote on and light clients keep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Height = slot index.
    pub height: u64,
    /// Hash of the previous header (of the genesis record for block 0).
    pub prev_hash: Hash,
    /// The previous block's commit: [`crate::ledger::consensus::commit_hash`] of its
    /// precommits and meter attestations (all zero for block 0). Once this header is
    /// signed, no signature of the block before can be deleted, reordered or exchanged.
    pub last_commit: Hash,
    /// RFC 6962 Merkle root of the transactions.
    pub tx_root: Hash,
    /// Number of transactions.
    pub tx_count: u64,
    /// Hash of the slot's oracle message.
    pub oracle_hash: Hash,
    /// RFC 6962 Merkle root of the proposals and the validators' verdicts.
    pub proposals_root: Hash,
    /// Index `k` of the chosen candidate on the epsilon grid.
    pub k: u64,
    /// `p_d*`, µCNY/kWh.
    pub p_d: i64,
    /// `R(p_d*)`, µCNY.
    pub revenue: i64,
    /// The SCP worker whose sub-range held `p_d*`.
    pub proposer: u32,
    /// The EVA's account after this block, µCNY ([`crate::ledger::rules::slot_accounts`]).
    pub eva_balance: i64,
    /// The grid operator's account after this block, µCNY. With the wallets' balances it
    /// sums to zero: money is conserved.
    pub operator_balance: i64,
    /// RFC 6962 Merkle root of the equivocation evidence gathered in this height's
    /// prevotes.
    pub evidence_root: Hash,
}

impl Header {
    fn encode(&self, e: &mut Enc) {
        e.u64(self.height)
            .fixed(&self.prev_hash.0)
            .fixed(&self.last_commit.0)
            .fixed(&self.tx_root.0)
            .u64(self.tx_count)
            .fixed(&self.oracle_hash.0)
            .fixed(&self.proposals_root.0)
            .u64(self.k)
            .i64(self.p_d)
            .i64(self.revenue)
            .u32(self.proposer)
            .i64(self.eva_balance)
            .i64(self.operator_balance);
    }

    /// The canonical bytes.
    pub fn bytes(&self, chain_id: &str) -> Vec<u8> {
        let mut e = Enc::new("header", chain_id);
        self.encode(&mut e);
        e.fixed(&self.evidence_root.0);
        e.finish()
    }

    /// The header hash (what precommit votes sign and the next header links to).
    pub fn hash(&self, chain_id: &str) -> Hash {
        sha256(&self.bytes(chain_id))
    }

    /// What the SCPs prevote on (step 5, first round): the header without its evidence
    /// root, which only the prevotes determine. Two prevotes of one SCP at one height
    /// for different hashes are equivocation evidence, committed by `evidence_root`.
    pub fn prevote_hash(&self, chain_id: &str) -> Hash {
        let mut e = Enc::new("prevote", chain_id);
        self.encode(&mut e);
        sha256(&e.finish())
    }
}

/// One slot's block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Block {
    /// The header.
    pub header: Header,
    /// The operator's signed data for the slot (step 3).
    pub oracle: OracleMsg,
    /// Each SCP worker's signed proposal and the validators' verdict (step 4).
    pub proposals: Vec<Proposal>,
    /// One transaction per plugged EV, in fleet order (steps 2, 5).
    pub txs: Vec<Tx>,
    /// Every SCP's attestation of its meter readings, in SCP order (step 5).
    pub meters: Vec<MeterAttestation>,
    /// The SCPs' signatures on the header (step 5).
    pub votes: Vec<Vote>,
    /// Equivocation evidence gathered while voting.
    pub evidence: Vec<Evidence>,
}

/// Signs a precommit on a header hash (used by the validators and by tests that forge
/// votes).
pub fn vote(chain_id: &str, height: u64, header_hash: &Hash, scp: u32, key: &SigningKey) -> Vote {
    signed_vote(VoteKind::Precommit, chain_id, height, header_hash, scp, key)
}

/// Signs a vote of `kind` on `hash` at `height`.
pub fn signed_vote(
    kind: VoteKind,
    chain_id: &str,
    height: u64,
    hash: &Hash,
    scp: u32,
    key: &SigningKey,
) -> Vote {
    Vote {
        scp,
        sig: sign(
            key,
            &crate::ledger::consensus::vote_bytes(kind, chain_id, height, hash, scp),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, NaiveDateTime};
    use proptest::strategy::Strategy;

    fn chrono_str(t: &NaiveDateTime) -> String {
        t.format("%Y-%m-%dT%H:%M:%S%.f").to_string()
    }

    #[test]
    fn session_times_are_written_as_chrono_writes_them() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let cases = [
            day(2021, 5, 27).and_hms_opt(7, 0, 0).unwrap(),
            day(2021, 5, 27).and_hms_milli_opt(7, 0, 5, 250).unwrap(),
            day(2021, 12, 31).and_hms_micro_opt(23, 59, 59, 1).unwrap(),
            day(2021, 1, 1).and_hms_nano_opt(0, 0, 0, 7).unwrap(),
            day(0, 1, 1).and_hms_opt(0, 0, 0).unwrap(),
            day(9999, 12, 31).and_hms_opt(23, 59, 59).unwrap(),
            // chrono's own formatter: years outside 0..=9999 and a leap second.
            day(-1, 3, 4).and_hms_opt(5, 6, 7).unwrap(),
            day(10000, 1, 1).and_hms_opt(0, 0, 0).unwrap(),
            day(2016, 12, 31)
                .and_hms_milli_opt(23, 59, 59, 1500)
                .unwrap(),
        ];
        for t in cases {
            assert_eq!(time_str(&t), chrono_str(&t), "{t:?}");
        }
        assert_eq!(time_str(&cases[1]), "2021-05-27T07:00:05.250");
        assert_eq!(time_str(&cases[8]), "2016-12-31T23:59:60.500");
    }

    proptest::proptest! {
        #[test]
        fn any_time_is_written_as_chrono_writes_it(
            days in -1_000_000i64..4_000_000,
            secs in 0u32..86_400,
            nano in proptest::prop_oneof![
                proptest::strategy::Just(0u32),
                (0u32..1000).prop_map(|m| m * 1_000_000),
                (0u32..1_000_000).prop_map(|u| u * 1_000),
                0u32..2_000_000_000,
            ],
        ) {
            let date = NaiveDate::from_ymd_opt(1, 1, 1).unwrap() + chrono::Duration::days(days);
            let Some(time) = chrono::NaiveTime::from_num_seconds_from_midnight_opt(secs, nano)
            else {
                return Ok(());
            };
            let t = date.and_time(time);
            proptest::prop_assert_eq!(time_str(&t), chrono_str(&t));
        }
    }
}
