//! Building the ledger of a run, one block per slot, from the simulation's observer
//! ([`crate::sim::Run::simulate`]).
//!
//! Per slot ([`LedgerBuilder::record`]):
//!
//! 1. the operator signs the slot's oracle message; the SCPs accept it (step 3);
//! 2. each SCP worker signs its proposal; the validators check each against their own
//!    evaluation and mark the false ones (step 4);
//! 3. each plugged EV signs its trade (steps 2, 5), in parallel; each SCP signs the Merkle
//!    root of its meter readings once ([`crate::ledger::meter`]);
//! 4. the validators check the body before voting: every signature (`verify_strict`),
//!    then every transaction by the ledger's rules ([`check_tx`]: SCP, nonce, balance,
//!    meter, terms);
//! 5. the header (Merkle root, oracle hash, proposals hash, `p_d*`) is signed by the SCPs;
//!    byzantine ones also sign a wrong header and are caught equivocating; the block is
//!    final with more than two thirds of the votes.
//!
//! The builder makes these in two parallel rounds, each one hand-off to the thread pool:
//! (1) the oracle message, the proposals and the EVs' signatures with their leaves;
//! (2) the check of those signatures and of every transaction's rules, beside the
//! transactions' root, the header, the meter attestations and the prevotes (each made
//! and checked) and the precommits. The precommits sign the header with its evidence
//! root, which is known before the prevotes are tallied only when no SCP is byzantine
//! (no one equivocates, so the evidence is empty); with byzantine SCPs they are a third
//! round after the tally. A failed check is reported in the order of the steps above,
//! and the signatures a round made beyond it are dropped: a precommit made early is kept
//! only once every check has passed, and is the same bytes as one made after them
//! (ed25519 signatures are deterministic).
//!
//! A streaming run ([`simulate_streaming`]) also overlaps consecutive blocks: round one
//! of slot `t + 1` runs in the same hand-off as round two of slot `t`. Only a header
//! needs the block before it (its hash); a slot's transactions need only the nonces and
//! balances the slot before leaves, which follow from its terms before any signature, so
//! [`LedgerBuilder::record_block`] makes the same blocks one at a time.
//!
//! All SCPs run the same deterministic code, so the honest validators' own evaluation of
//! every sub-range is the simulation's search itself ([`crate::game::search::SearchResult::proposals`]), and
//! the body check every honest validator makes is made once.

use ed25519_dalek::VerifyingKey;
use rayon::prelude::*;

use crate::error::Result;
use crate::ledger::block::{signed_vote, vote, Block, Commitment, Genesis, Header};
use crate::ledger::chain::Ledger;
use crate::ledger::consensus::{
    byzantine_set, check_byzantine, commit_hash, evidence_root, proposals_root, quorum, vote_bytes,
    Claim, Proposal, Seal, Tally, Vote, VoteKind,
};
use crate::ledger::keys::{sign, verify_all, verify_one, Keyring};
use crate::ledger::merkle;
use crate::ledger::meter::{readings, MeterAttestation};
use crate::ledger::oracle::OracleMsg;
use crate::ledger::rules::{
    accounts_overflow, check_decision, check_tx, claim_of, equivocation_header, false_claim,
    honest_voters, slot_accounts, unsigned_txs, TxContext,
};
use crate::ledger::tx::Tx;
use crate::ledger::units::{micro, Bytes, Hash, Sig};
use crate::ledger::{Fault, LedgerError};
use crate::sim::{Run, SlotOutcome};

/// Round one's transactions, signed, with their consent bytes and Merkle leaves.
type Signed = (Vec<Tx>, (Vec<Vec<u8>>, Vec<Hash>));

/// Builds a run's ledger slot by slot.
#[derive(Debug, Clone)]
pub struct LedgerBuilder {
    parties: Parties,
    wallet: Vec<usize>,
    nonces: Vec<u64>,
    balances: Vec<i64>,
    eva_balance: i64,
    operator_balance: i64,
    w_grid: i64,
    tip: Tip,
    next_height: u64,
    blocks: Vec<Block>,
}

/// The chain's end so far: the last block's header hash and its commit
/// ([`commit_hash`]), which the next header links to (the genesis hash and zeros before
/// block 0).
#[derive(Debug, Clone, Copy)]
struct Tip {
    hash: Hash,
    commit: Hash,
}

/// What every block's two rounds read and never change: the keys, the genesis (its chain
/// id and `p_delay`) and the byzantine SCPs.
#[derive(Debug, Clone)]
struct Parties {
    ring: Keyring,
    genesis: Genesis,
    ev_keys: Vec<VerifyingKey>,
    scp_keys: Vec<VerifyingKey>,
    byzantine: Vec<bool>,
}

/// A slot's block before any signature: the oracle message, the EVA's decision, each
/// transaction's terms (priced at that decision's `p_d`) with its wallet's nonce and
/// balance entering the slot, and the accounts after it.
/// Made on the recorder's thread in slot order, since each slot's terms follow from the
/// state the slot before left.
#[derive(Debug)]
struct Terms {
    height: u64,
    oracle: OracleMsg,
    win: Claim,
    txs: Vec<Tx>,
    entering: Vec<(u64, i64)>,
    eva_balance: i64,
    operator_balance: i64,
}

/// A slot's block after round one: the oracle message, the proposals and the EVs'
/// transactions signed, with what round two checks them against.
#[derive(Debug)]
struct Draft {
    height: u64,
    oracle: OracleMsg,
    oracle_hash: Hash,
    proposals: Vec<Proposal>,
    proposals_root: Hash,
    proposer: Option<u32>,
    win: Claim,
    txs: Vec<Tx>,
    consents: Vec<Vec<u8>>,
    leaves: Vec<Hash>,
    entering: Vec<(u64, i64)>,
    eva_balance: i64,
    operator_balance: i64,
}

impl LedgerBuilder {
    /// The builder of a run's ledger with these keys (one per EV of the fleet and per SCP
    /// worker of the scenario) and this commitment. The scenario's byzantine SCPs (the
    /// last `F` workers) misbehave; refuses `F` unless `workers > 3F`, and a keyring that
    /// does not fit the run.
    pub fn new(run: &Run, ring: Keyring, commitment: Commitment) -> Result<Self> {
        let n = run.scenario().workers.len();
        let byzantine = run.scenario().byzantine;
        check_byzantine(n, byzantine)?;
        let evs = run.fleet().evs();
        if ring.evs.len() != evs.len()
            || ring.scps.len() != n
            || ring.ev_ids.iter().zip(evs).any(|(id, e)| *id != e.id)
        {
            return Err(crate::error::Error::param(
                "keystore",
                "the keys do not fit the run's EVs and SCP workers",
            ));
        }
        ring.check_distinct()
            .map_err(|why| crate::error::Error::param("keystore", why))?;
        let genesis = Genesis::new(&ring, evs, commitment);
        let tip = Tip {
            hash: genesis.hash(),
            commit: Hash::default(),
        };
        Ok(LedgerBuilder {
            parties: Parties {
                ev_keys: ring.evs.iter().map(|k| k.verifying_key()).collect(),
                scp_keys: ring.scps.iter().map(|k| k.verifying_key()).collect(),
                byzantine: byzantine_set(n, byzantine),
                ring,
                genesis,
            },
            wallet: run.fleet().wallets(),
            nonces: vec![0; evs.len()],
            balances: vec![0; evs.len()],
            eva_balance: 0,
            operator_balance: 0,
            w_grid: micro(run.scenario().params.w_grid),
            tip,
            next_height: 0,
            blocks: Vec::new(),
        })
    }

    /// A builder with fresh keys and a commitment from the run alone
    /// ([`Commitment::of_run`]): for runs built in code.
    pub fn fresh(run: &Run) -> Result<Self> {
        let ids: Vec<String> = run.fleet().evs().iter().map(|e| e.id.clone()).collect();
        let ring = Keyring::generate(&ids, run.scenario().workers.len())?;
        LedgerBuilder::new(run, ring, Commitment::of_run(run))
    }

    /// The genesis record.
    pub fn genesis(&self) -> &Genesis {
        &self.parties.genesis
    }

    /// The keys of the run.
    pub fn keyring(&self) -> &Keyring {
        &self.parties.ring
    }

    /// Records one slot as a block.
    pub fn record(&mut self, o: &SlotOutcome<'_>) -> Result<(), LedgerError> {
        let block = self.record_block(o)?;
        self.blocks.push(block);
        Ok(())
    }

    /// Records one slot as a block and hands it back without keeping it: what a streaming
    /// writer uses, so that memory holds one block whatever the horizon. A slot it refuses
    /// leaves the builder as it was.
    pub fn record_block(&mut self, o: &SlotOutcome<'_>) -> Result<Block, LedgerError> {
        let terms = self.terms(o)?;
        let draft = self.parties.sign(o, terms);
        let block = self.seal(draft)?;
        self.advance(
            &block.txs,
            block.header.eva_balance,
            block.header.operator_balance,
        );
        Ok(block)
    }

    /// Records one slot while the slot before, already signed (`pending`), is checked and
    /// sealed: the two rounds of consecutive blocks overlap in one hand-off to the thread
    /// pool. Returns the slot before's block, if any, and this slot's draft. The blocks
    /// are the ones [`LedgerBuilder::record_block`] makes one after the other: a slot's
    /// signatures depend only on its terms, which follow from the terms before them, and
    /// only its header waits on the block before (its hash). The wallets move past the
    /// slot before its checks, so an error ends the run.
    fn record_overlapped(
        &mut self,
        pending: Option<Draft>,
        o: &SlotOutcome<'_>,
    ) -> Result<(Option<Block>, Draft), LedgerError> {
        let terms = self.terms(o)?;
        self.advance(&terms.txs, terms.eva_balance, terms.operator_balance);
        let (parties, tip) = (&self.parties, self.tip);
        let (sealed, draft) = rayon::join(
            || pending.map(|d| parties.check(d, tip)).transpose(),
            || parties.sign(o, terms),
        );
        let block = sealed?.map(|(block, tip)| {
            self.tip = tip;
            block
        });
        Ok((block, draft))
    }

    /// Round two of a signed block (see [`Parties::check`]), then the chain moves on to it.
    fn seal(&mut self, draft: Draft) -> Result<Block, LedgerError> {
        let (block, tip) = self.parties.check(draft, self.tip)?;
        self.tip = tip;
        Ok(block)
    }

    /// The ledger's last record, after the last block recorded so far: every honest SCP's
    /// seal vote on the last block's header and commit ([`Seal`]).
    pub fn seal_record(&self) -> Seal {
        let p = &self.parties;
        let chain = p.genesis.chain_id.as_str();
        let mut seal = Seal {
            height: self.next_height,
            last_header: self.tip.hash,
            last_commit: self.tip.commit,
            votes: Vec::new(),
        };
        let hash = seal.hash(chain);
        seal.votes = honest_voters(&p.byzantine)
            .into_par_iter()
            .map(|j| {
                signed_vote(
                    VoteKind::Seal,
                    chain,
                    seal.height,
                    &hash,
                    j,
                    &p.ring.scps[j as usize],
                )
            })
            .collect();
        seal
    }

    /// A slot's terms (see [`Terms`]); refuses a slot out of order.
    fn terms(&self, o: &SlotOutcome<'_>) -> Result<Terms, LedgerError> {
        let height = o.record.slot as u64;
        if height != self.next_height {
            return Err(LedgerError::at(
                height,
                None,
                Fault::Height {
                    expected: self.next_height,
                    got: height,
                },
            ));
        }
        let oracle = OracleMsg::issue_unsigned(height, o.prices);
        let win = claim_of(&o.search.best);
        let txs = unsigned_txs(
            o.trades,
            self.parties.scp_keys.len(),
            oracle.p_c(),
            win.p_d,
            &self.wallet,
            &self.nonces,
            &self.balances,
        );
        let (eva_balance, operator_balance) = slot_accounts(
            (self.eva_balance, self.operator_balance),
            txs.iter(),
            &oracle,
            self.w_grid,
            micro(o.record.c_limit),
        )
        .ok_or_else(|| LedgerError::at(height, None, accounts_overflow()))?;
        let entering = txs
            .iter()
            .map(|tx| {
                let w = self.wallet[tx.ev as usize];
                (self.nonces[w], self.balances[w])
            })
            .collect();
        Ok(Terms {
            height,
            oracle,
            win,
            txs,
            entering,
            eva_balance,
            operator_balance,
        })
    }

    /// Moves the wallets' nonces and balances, the accounts and the height past a slot
    /// with these transactions.
    fn advance(&mut self, txs: &[Tx], eva_balance: i64, operator_balance: i64) {
        for tx in txs {
            let w = self.wallet[tx.ev as usize];
            self.nonces[w] = tx.nonce;
            self.balances[w] = tx.balance;
        }
        self.eva_balance = eva_balance;
        self.operator_balance = operator_balance;
        self.next_height += 1;
    }

    /// The finished ledger.
    pub fn finish(self) -> Ledger {
        let seal = self.seal_record();
        Ledger {
            genesis: self.parties.genesis,
            blocks: self.blocks,
            seal,
        }
    }
}

impl Parties {
    /// Round one. Step 3: the operator signs the oracle message. Step 4: each SCP worker
    /// signs its proposal (a byzantine one a false claim). Steps 2 and 5: each plugged EV
    /// signs its trade, and its leaf is hashed.
    fn sign(&self, o: &SlotOutcome<'_>, terms: Terms) -> Draft {
        let Terms {
            height,
            mut oracle,
            win,
            txs,
            entering,
            eva_balance,
            operator_balance,
        } = terms;
        let (ring, chain, byzantine) =
            (&self.ring, self.genesis.chain_id.as_str(), &self.byzantine);
        let game = o.game;
        let ((txs, (consents, leaves)), (oracle_sig, mut proposals)) = rayon::join(
            || -> Signed {
                txs.into_par_iter()
                    .map(|mut tx| {
                        let consent = tx.consent_bytes(chain);
                        tx.ev_sig = sign(&ring.evs[tx.ev as usize], &consent);
                        let leaf = merkle::leaf_hash(&tx.leaf_bytes(chain, &consent));
                        (tx, (consent, leaf))
                    })
                    .collect()
            },
            || {
                let oracle_sig = sign(&ring.oracle, &oracle.signed_bytes(chain));
                let proposals: Vec<Proposal> = o
                    .search
                    .proposals
                    .iter()
                    .map(|p| {
                        let own = p.best.as_ref().map(claim_of);
                        let reported = if byzantine[p.worker] {
                            Some(false_claim(game, &p.range, own))
                        } else {
                            own
                        };
                        let mut prop = Proposal {
                            worker: p.worker as u32,
                            lo: p.range.start as u64,
                            hi: p.range.end as u64,
                            best: reported,
                            sig: Bytes([0; 64]),
                            faulty: reported != own,
                        };
                        prop.sig = sign(&ring.scps[p.worker], &prop.signed_bytes(chain, height));
                        prop
                    })
                    .collect();
                (oracle_sig, proposals)
            },
        );
        oracle.sig = oracle_sig;
        proposals.sort_by_key(|p| p.worker);
        let proposer = proposals
            .iter()
            .find(|p| (p.lo..p.hi).contains(&win.k))
            .map(|p| p.worker);
        Draft {
            height,
            oracle_hash: oracle.hash(chain),
            oracle,
            proposals_root: proposals_root(chain, height, &proposals),
            proposals,
            proposer,
            win,
            txs,
            consents,
            leaves,
            entering,
            eva_balance,
            operator_balance,
        }
    }

    /// Round two and the tally: the checks of everything round one signed, the header,
    /// the meter attestations and the votes; the block and its hash, or the first failed
    /// check in the protocol's order: oracle, proposals, decision, transactions, meters,
    /// rules, votes, quorum. `tip` is the block before's hash and commit; the block's own
    /// are returned with it.
    fn check(&self, draft: Draft, tip: Tip) -> Result<(Block, Tip), LedgerError> {
        let Draft {
            height,
            oracle,
            oracle_hash,
            proposals,
            proposals_root,
            proposer,
            win,
            txs,
            consents,
            leaves,
            entering,
            eva_balance,
            operator_balance,
        } = draft;
        let fail = |tx, fault| LedgerError::at(height, tx, fault);
        let n = self.scp_keys.len();
        let (ring, chain, byzantine) =
            (&self.ring, self.genesis.chain_id.as_str(), &self.byzantine);
        let scp_keys = &self.scp_keys;
        let evs: Vec<u32> = txs.iter().map(|tx| tx.ev).collect();
        // The header of step 5, its evidence root still to come. Made in round two,
        // beside the checks, since its Merkle root waits on every leaf.
        let make_header = |tx_root| Header {
            height,
            prev_hash: tip.hash,
            last_commit: tip.commit,
            tx_root,
            tx_count: txs.len() as u64,
            oracle_hash,
            proposals_root,
            k: win.k,
            p_d: win.p_d,
            revenue: win.revenue,
            proposer: proposer.unwrap_or(0),
            eva_balance,
            operator_balance,
            evidence_root: Default::default(),
        };
        // With no byzantine SCP no one equivocates, so the evidence is empty and the
        // final header is known in round two: the precommits are made there, and kept
        // only once every check has passed (the same bytes as made after them).
        let honest = !byzantine.iter().any(|&b| b);

        // Round 2. The validators check the oracle message, the proposals and every
        // transaction's signature and rules. Beside that: the transactions' root and the
        // header; each SCP signs the Merkle root of its meter readings and casts its
        // prevotes (byzantine SCPs also prevote for a header with a wrong price:
        // equivocation), and the validators check those too.
        let proposal_msgs: Vec<Vec<u8>> = proposals
            .iter()
            .map(|p| p.signed_bytes(chain, height))
            .collect();
        let oracle_key = ring.oracle.verifying_key();
        // The rules of every transaction ([`check_tx`]), against its wallet's nonce and
        // balance entering the slot.
        let cx = TxContext {
            n_scps: n,
            p_c: oracle.p_c(),
            p_d: win.p_d,
            p_delay: self.genesis.p_delay,
        };
        let (checked, (header, prevote, meters, cast, early)) = rayon::join(
            || {
                let broken = txs
                    .par_iter()
                    .zip(&entering)
                    .enumerate()
                    .filter_map(|(i, (tx, &(nonce, balance)))| {
                        check_tx(tx, nonce, balance, &cx).err().map(|f| (i, f))
                    })
                    .find_first(|_| true);
                let oracle_ok = oracle.accept(chain, height, &oracle_key);
                let mut all: Vec<(&VerifyingKey, &[u8], &Sig)> = proposals
                    .iter()
                    .zip(&proposal_msgs)
                    .map(|(p, m)| (&scp_keys[p.worker as usize], m.as_slice(), &p.sig))
                    .collect();
                all.extend(txs.iter().zip(&consents).map(|(tx, consent)| {
                    (
                        &self.ev_keys[tx.ev as usize],
                        consent.as_slice(),
                        &tx.ev_sig,
                    )
                }));
                (oracle_ok, verify_all(&all), broken)
            },
            || {
                let header = make_header(merkle::root(leaves.clone()));
                let prevote = header.prevote_hash(chain);
                let wrong_prevote = equivocation_header(&header).prevote_hash(chain);
                let ballots: Vec<(u32, Hash)> = (0..n as u32)
                    .flat_map(|j| {
                        let equivocation = byzantine[j as usize].then_some((j, wrong_prevote));
                        std::iter::once((j, prevote)).chain(equivocation)
                    })
                    .collect();
                let early_hash = honest.then(|| {
                    let mut h = header.clone();
                    h.evidence_root = evidence_root(chain, height, &[]);
                    h.hash(chain)
                });
                let (meters, (cast, early)) = rayon::join(
                    || -> Vec<(MeterAttestation, bool)> {
                        readings(&evs, &leaves, n)
                            .into_par_iter()
                            .enumerate()
                            .map(|(j, r)| {
                                let m = MeterAttestation::sign(
                                    chain,
                                    height,
                                    j as u32,
                                    r,
                                    &ring.scps[j],
                                );
                                let ok = verify_one(
                                    &scp_keys[j],
                                    &m.signed_bytes(chain, height),
                                    &m.sig,
                                );
                                (m, ok)
                            })
                            .collect()
                    },
                    || {
                        rayon::join(
                            || -> Vec<(u32, Hash, Sig, bool)> {
                                ballots
                                    .par_iter()
                                    .map(|&(j, h)| {
                                        let bytes =
                                            vote_bytes(VoteKind::Prevote, chain, height, &h, j);
                                        let sig = sign(&ring.scps[j as usize], &bytes);
                                        let ok = verify_one(&scp_keys[j as usize], &bytes, &sig);
                                        (j, h, sig, ok)
                                    })
                                    .collect()
                            },
                            || {
                                early_hash.map(|hash| {
                                    let votes = (0..n as u32)
                                        .into_par_iter()
                                        .map(|j| {
                                            vote(chain, height, &hash, j, &ring.scps[j as usize])
                                        })
                                        .collect::<Vec<_>>();
                                    (hash, votes)
                                })
                            },
                        )
                    },
                );
                (header, prevote, meters, cast, early)
            },
        );
        let (oracle_ok, sigs_ok, broken) = checked;
        oracle_ok.map_err(|f| fail(None, f))?;
        let n_props = proposals.len();
        let bad = sigs_ok.err();
        if let Some(i) = bad.filter(|&i| i < n_props) {
            let j = proposals[i].worker;
            return Err(fail(None, Fault::Signature(format!("SCP {j} (proposal)"))));
        }
        if proposer.is_none() {
            return Err(fail(
                None,
                Fault::Decision("no sub-range holds p_d*".into()),
            ));
        }
        // The auditor's decision rule, checked before anyone votes.
        check_decision(&header, &proposals, &oracle).map_err(|f| fail(None, f))?;
        if let Some(i) = bad.map(|i| i - n_props) {
            let ev = txs[i].ev;
            return Err(fail(Some(i), Fault::Signature(format!("EV wallet {ev}"))));
        }
        if let Some(j) = meters.iter().position(|(_, ok)| !ok) {
            return Err(fail(None, Fault::Signature(format!("SCP {j} (meters)"))));
        }
        let meters: Vec<MeterAttestation> = meters.into_iter().map(|(m, _)| m).collect();
        if let Some((i, f)) = broken {
            return Err(fail(Some(i), f));
        }
        if let Some((j, ..)) = cast.iter().find(|(.., ok)| !ok) {
            return Err(fail(None, Fault::Signature(format!("SCP {j} (vote)"))));
        }
        let mut tally = Tally::new();
        for (j, h, s, _) in cast {
            tally.add(j, h, s);
        }
        let prevoters: Vec<u32> = tally.votes_for(&prevote).iter().map(|v| v.scp).collect();
        if !quorum(prevoters.len(), n) {
            return Err(fail(
                None,
                Fault::Quorum {
                    votes: prevoters.len() as u64,
                    validators: n as u64,
                },
            ));
        }
        // Step 5's second round: the header commits the evidence; the SCPs that did not
        // equivocate precommit on it. Made in round two when no SCP is byzantine (then
        // every SCP prevoted for this header and none equivocated), else a third round.
        let evidence = tally.evidence();
        let mut header = header;
        header.evidence_root = evidence_root(chain, height, &evidence);
        let hash = header.hash(chain);
        let votes = match early_precommits(early, &hash, &prevoters, n) {
            Some(votes) => votes,
            None => prevoters
                .par_iter()
                .map(|&j| vote(chain, height, &hash, j, &ring.scps[j as usize]))
                .collect(),
        };
        let block = Block {
            header,
            oracle,
            proposals,
            txs,
            meters,
            votes,
            evidence,
        };
        let commit = commit_hash(chain, height, &block.votes, &block.meters);
        Ok((block, Tip { hash, commit }))
    }
}
/// The precommits made in round two, when they are the ones step 5 asks for: made on the
/// final header (`hash`, its evidence root included) and by exactly the SCPs that
/// prevoted for it, all `n` of them in order. Otherwise the precommits are made anew.
fn early_precommits(
    early: Option<(Hash, Vec<Vote>)>,
    hash: &Hash,
    prevoters: &[u32],
    n: usize,
) -> Option<Vec<Vote>> {
    let (made_on, votes) = early?;
    let all = prevoters.iter().copied().eq(0..n as u32);
    let same = votes.iter().map(|v| v.scp).eq(prevoters.iter().copied());
    (made_on == *hash && all && same).then_some(votes)
}

/// Runs a simulation with the ledger on, streaming `ledger.jsonl` into `out` block by
/// block as each slot is recorded (the genesis hash first), so that memory holds a few
/// blocks whatever the horizon. Three stages run side by side: the simulation, the
/// recording (a recorder thread, which makes the signatures of slot `t + 1` in one
/// hand-off to the thread pool with the checks and votes of slot `t`) and the writing of
/// block `t − 1` (a writer thread), with at most one slot waiting between stages. Blocks
/// are the same as when recorded one after the other: a slot's signatures depend only on
/// its outcome and the terms of the slots before it, and its header on the block before
/// it. `observe` sees each slot as it is simulated; its error, the recorder's or the
/// writer's ends the run. Returns the run's result and the genesis record.
pub fn simulate_streaming<W: std::io::Write + Send>(
    run: &Run,
    mut builder: LedgerBuilder,
    out: &mut W,
    path: &std::path::Path,
    mut observe: impl FnMut(&SlotOutcome<'_>) -> Result<()>,
) -> Result<(crate::sim::RunResult, Genesis)> {
    let io = |e| crate::error::Error::io(path, e);
    out.write_all(&crate::ledger::store::genesis_line(builder.genesis()))
        .map_err(io)?;
    /// What the writer writes: each block's line, then the seal's.
    #[allow(clippy::large_enum_variant)] // one block at a time, moved through a channel
    enum Item {
        Block(Block),
        Seal(Seal),
    }
    let (to_writer, for_writer) = std::sync::mpsc::sync_channel::<Item>(1);
    let (to_recorder, for_recorder) = std::sync::mpsc::sync_channel::<crate::sim::OwnedOutcome>(1);
    let recorder_builder = &mut builder;
    let (result, recorded, written) = std::thread::scope(|s| {
        let writer = s.spawn(move || -> std::io::Result<()> {
            for item in for_writer {
                let line = match &item {
                    Item::Block(b) => crate::ledger::store::block_line(b),
                    Item::Seal(seal) => crate::ledger::store::seal_line(seal),
                };
                out.write_all(&line)?;
            }
            out.flush()
        });
        let recorder = s.spawn(move || -> Result<()> {
            // Slot `t + 1` is signed while slot `t` is checked and sealed.
            let mut pending = None;
            for o in for_recorder {
                let (block, draft) = recorder_builder.record_overlapped(pending, &o.outcome())?;
                pending = Some(draft);
                // A closed channel means the writer failed; its error is reported below.
                if block.is_some_and(|b| to_writer.send(Item::Block(b)).is_err()) {
                    return Ok(());
                }
            }
            if let Some(draft) = pending {
                // As above: the writer's error is reported below.
                let _ = to_writer.send(Item::Block(recorder_builder.seal(draft)?));
            }
            let _ = to_writer.send(Item::Seal(recorder_builder.seal_record()));
            Ok(())
        });
        let result = run.simulate(|o| {
            // A closed channel means the recorder stopped on an error, reported below.
            if to_recorder.send(o.to_owned_outcome()).is_err() {
                return Err(crate::error::Error::Stopped);
            }
            observe(o)
        });
        drop(to_recorder);
        let recorded = recorder
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the ledger writer panicked")));
        (result, recorded, written)
    });
    // The recorder's error explains a run that stopped; the writer's, a recorder that did.
    recorded?;
    written.map_err(io)?;
    Ok((result?, builder.parties.genesis))
}

/// Runs a simulation with the ledger on: the run's result and its ledger, recorded by
/// `builder`. `observe` sees each slot after its block is recorded; its error (or a
/// ledger check's) ends the run.
pub fn simulate_with_ledger(
    run: &Run,
    mut builder: LedgerBuilder,
    mut observe: impl FnMut(&SlotOutcome<'_>) -> Result<()>,
) -> Result<(crate::sim::RunResult, Ledger)> {
    let result = run.simulate(|o| {
        builder.record(o)?;
        observe(o)
    })?;
    Ok((result, builder.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::fleet::{Ev, Fleet, Kind};
    use crate::data::scenario::{equal_workers, Scenario};
    use crate::data::time::parse_time;

    fn run(workers: usize) -> Run {
        run_with(workers, 0)
    }

    #[test]
    fn early_precommits_are_kept_only_for_the_final_header_and_every_scp() {
        let hash = Bytes([7; 32]);
        let votes = |scps: &[u32]| -> Vec<Vote> {
            scps.iter()
                .map(|&scp| Vote {
                    scp,
                    sig: Bytes([scp as u8; 64]),
                })
                .collect()
        };
        let all = [0, 1, 2, 3];
        let keep = |made_on: Hash, made_by: &[u32], prevoters: &[u32]| {
            early_precommits(Some((made_on, votes(made_by))), &hash, prevoters, 4)
        };
        assert_eq!(keep(hash, &all, &all), Some(votes(&all)));
        // Made on another header (the evidence root was not the empty one).
        assert_eq!(keep(Bytes([8; 32]), &all, &all), None);
        // An SCP did not prevote (or equivocated): only the prevoters precommit.
        assert_eq!(keep(hash, &all, &[0, 1, 3]), None);
        assert_eq!(keep(hash, &all, &[0, 1, 2, 3, 4]), None);
        // Made by other SCPs than those that prevoted.
        assert_eq!(keep(hash, &[0, 1, 2], &all), None);
        assert_eq!(keep(hash, &[0, 1, 3, 2], &all), None);
        assert_eq!(early_precommits(None, &hash, &all, 4), None);
    }

    fn run_with(workers: usize, byzantine: usize) -> Run {
        let t = |s| parse_time(s).unwrap();
        let evs = (0..5)
            .map(|i| Ev {
                site: None,
                session_id: None,
                id: format!("e{i}"),
                kind: Kind::Private,
                capacity_kwh: 40.0 + 10.0 * i as f64,
                initial_kwh: 5.0 + 8.0 * i as f64,
                arrival: t("2021-05-27T06:00"),
                departure: t("2021-05-27T12:00"),
                beta: None,
                a: None,
                u_idle: None,
                limits: Default::default(),
            })
            .collect();
        let mut sc = Scenario::default();
        sc.horizon.slots = 6;
        sc.params.epsilon = 0.05;
        sc.workers = equal_workers(workers);
        sc.byzantine = byzantine;
        Run::new(Fleet::new(evs).unwrap(), None, sc).unwrap()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(16))]
        /// EVs that plug in several times (random gaps, back to back included, rows in
        /// random order): the ledger verifies with its full replay, every EV's sessions
        /// share its key, and its nonces run 1, 2, 3, … and its balance carries across
        /// its sessions.
        #[test]
        fn repeated_sessions_keep_one_wallet_and_verify(
            evs in proptest::collection::vec(
                (0.0f64..=1.0, proptest::collection::vec((0i64..4, 1i64..5), 1..4)),
                1..4,
            ),
            order in proptest::collection::vec(0usize..1000, 12),
            workers in 1usize..5,
        ) {
            let start = parse_time("2021-05-27T06:00").unwrap();
            let mut rows = Vec::new();
            for (k, (soc, sessions)) in evs.iter().enumerate() {
                let mut t = start;
                for (gap, len) in sessions {
                    // Gaps and lengths in half-slot steps: sessions on and off the grid.
                    let arrival = t + chrono::Duration::minutes(7 * gap);
                    let departure = arrival + chrono::Duration::minutes(20 * len);
                    rows.push(Ev {
                        site: None,
                        session_id: None,
                        id: format!("ev{k}"),
                        kind: Kind::Private,
                        capacity_kwh: 60.0,
                        initial_kwh: 60.0 * soc,
                        arrival,
                        departure,
                        beta: None,
                        a: None,
                        u_idle: None,
                        limits: Default::default(),
                    });
                    t = departure;
                }
            }
            // Rows in a random order (a stable sort on random keys).
            let mut keyed: Vec<(usize, Ev)> = rows
                .into_iter()
                .enumerate()
                .map(|(i, e)| (order[i % order.len()], e))
                .collect();
            keyed.sort_by_key(|(k, _)| *k);
            let fleet = Fleet::new(keyed.into_iter().map(|(_, e)| e).collect()).unwrap();
            let mut sc = Scenario::default();
            sc.horizon.slots = 12;
            sc.params.epsilon = 0.05;
            sc.workers = equal_workers(workers);
            let r = Run::new(fleet, None, sc).unwrap();
            let (_, l) =
                simulate_with_ledger(&r, LedgerBuilder::fresh(&r).unwrap(), |_| Ok(())).unwrap();
            crate::ledger::audit::verify_ledger(&l).unwrap();
            let wallet = r.fleet().wallets();
            for (i, w) in l.genesis.evs.iter().enumerate() {
                proptest::prop_assert_eq!(w.key, l.genesis.evs[wallet[i]].key);
            }
            let mut last: std::collections::HashMap<usize, (u64, i64)> = Default::default();
            for b in &l.blocks {
                for t in &b.txs {
                    let (n, bal) = last.get(&wallet[t.ev as usize]).copied().unwrap_or((0, 0));
                    proptest::prop_assert_eq!(t.nonce, n + 1);
                    proptest::prop_assert_eq!(t.balance, bal - t.amount);
                    last.insert(wallet[t.ev as usize], (t.nonce, t.balance));
                }
            }
        }
    }

    #[test]
    fn byzantine_bound_is_enforced() {
        // A scenario that passed validation cannot have it wrong; a run built past
        // validation is refused by the builder too.
        let mut r = run(3);
        let mut sc = r.scenario().clone();
        sc.byzantine = 1;
        assert!(Run::new(r.fleet().clone(), None, sc.clone()).is_err());
        sc.ledger = false;
        assert!(Run::new(r.fleet().clone(), None, sc).is_err());
        r = run_with(4, 1);
        assert!(LedgerBuilder::fresh(&r).is_ok());
    }

    #[test]
    fn honest_and_byzantine_ledgers_agree_on_every_price_and_trade() {
        let r = run(4);
        let rb = run_with(4, 1);
        // One set of keys for both, so that the EV-signed terms can be compared.
        let ids: Vec<String> = r.fleet().evs().iter().map(|e| e.id.clone()).collect();
        let ring = Keyring::generate(&ids, 4).unwrap();
        let builder =
            |run: &Run| LedgerBuilder::new(run, ring.clone(), Commitment::of_run(run)).unwrap();
        let (res, honest) = simulate_with_ledger(&r, builder(&r), |_| Ok(())).unwrap();
        let (res_b, byz) = simulate_with_ledger(&rb, builder(&rb), |_| Ok(())).unwrap();
        assert_eq!(res, res_b);
        assert_eq!(honest.blocks.len(), 6);
        for (h, b) in honest.blocks.iter().zip(&byz.blocks) {
            assert_eq!(h.header.p_d, b.header.p_d);
            assert_eq!(
                h.header.p_d,
                micro(res.slots[h.header.height as usize].p_d.unwrap())
            );
            assert_eq!(h.txs.len(), res.slots[h.header.height as usize].n_plugged);
            assert_eq!(h.votes.len(), 4);
            assert!(h.evidence.is_empty() && h.proposals.iter().all(|p| !p.faulty));
            assert_eq!(b.votes.len(), 3);
            assert_eq!(b.evidence.len(), 1);
            // The EV-signed terms do not depend on the SCPs' behaviour.
            let terms = |b: &Block| {
                b.txs
                    .iter()
                    .map(crate::ledger::rules::unsigned)
                    .collect::<Vec<_>>()
            };
            assert_eq!(terms(h), terms(b));
        }
        crate::ledger::audit::verify_ledger(&honest).unwrap();
        crate::ledger::audit::verify_ledger(&byz).unwrap();
    }

    #[test]
    fn each_scp_attests_its_readings_once_per_block() {
        // 5 EVs on 2 SCPs: SCP 0 meters EVs 0, 2, 4 and SCP 1 EVs 1, 3.
        let r = run(2);
        let (_, l) =
            simulate_with_ledger(&r, LedgerBuilder::fresh(&r).unwrap(), |_| Ok(())).unwrap();
        let chain = l.genesis.chain_id.clone();
        let mut client = crate::ledger::light::LightClient::new(&l.genesis).unwrap();
        let mut proofs = 0;
        for (h, b) in l.blocks.iter().enumerate() {
            client.accept(&b.header, &b.votes).unwrap();
            assert_eq!(b.meters.len(), 2);
            let counts: Vec<u64> = b.meters.iter().map(|m| m.count).collect();
            let at = |j: u32| b.txs.iter().filter(|t| t.scp == j).count() as u64;
            assert_eq!(counts, vec![at(0), at(1)]);
            for (j, m) in b.meters.iter().enumerate() {
                assert_eq!(m.scp, j as u32);
                let key = l.genesis.scps[j];
                let key = crate::ledger::keys::verifying_key(&key).unwrap();
                assert!(crate::ledger::keys::verify_one(
                    &key,
                    &m.signed_bytes(&chain, h as u64),
                    &m.sig
                ));
            }
            for (i, t) in b.txs.iter().enumerate() {
                let (att, index, proof) = l.meter_proof(h, i).unwrap();
                client
                    .verify_meter(h as u64, att, index, &t.leaf_hash(&chain), &proof)
                    .unwrap();
                proofs += usize::from(!proof.is_empty());
            }
        }
        assert!(proofs > 10, "{proofs} non-trivial meter proofs");
        assert!(l.meter_proof(0, 99).is_none());
        let report = crate::ledger::audit::verify_ledger(&l).unwrap();
        assert_eq!(report.blocks, l.blocks.len() as u64);
        // verify_ledger refuses what verify refuses: a precommit deleted, two swapped.
        let mut cut = l.clone();
        cut.blocks[1].votes.pop();
        assert!(crate::ledger::audit::verify_ledger(&cut).is_err());
        let mut swapped = l.clone();
        swapped.blocks[1].votes.swap(0, 1);
        let e = crate::ledger::audit::verify_ledger(&swapped).unwrap_err();
        assert!(e.to_string().contains("not in SCP order"), "{e}");
    }

    /// The validators' checks of round two, each reached by a draft that breaks one thing
    /// after round one, report the step, the transaction and the party.
    #[test]
    fn the_builder_s_checks_report_where_a_draft_breaks() {
        let r = run(4);
        let fresh = LedgerBuilder::fresh(&r).unwrap();
        let mut seen = 0;
        r.simulate(|o| {
            if o.trades.len() < 3 || seen > 0 {
                return Ok(());
            }
            seen += 1;
            let mut b = fresh.clone();
            b.next_height = o.record.slot as u64;
            let check = |parties: &Parties, d: Draft| parties.check(d, b.tip).map(|_| ());
            let fault = |parties: &Parties, d: Draft| {
                let e = check(parties, d).unwrap_err();
                assert_eq!(e.location.height, Some(o.record.slot as u64));
                (e.location.tx, e.fault)
            };
            let redraft = || b.parties.sign(o, b.terms(o).unwrap());
            assert!(check(&b.parties, redraft()).is_ok());
            let sig = |who: &str| Fault::Signature(who.into());
            // An SCP's proposal signature.
            let mut d = redraft();
            d.proposals[1].sig.0[0] ^= 1;
            assert_eq!(fault(&b.parties, d), (None, sig("SCP 1 (proposal)")));
            // An EV's signature: the transaction and its wallet (the first and a later one).
            for i in [0, 2] {
                let mut d = redraft();
                d.txs[i].ev_sig.0[0] ^= 1;
                let ev = d.txs[i].ev;
                let want = (Some(i), sig(&format!("EV wallet {ev}")));
                assert_eq!(fault(&b.parties, d), want);
            }
            // A transaction's rules, against its wallet's nonce entering the slot.
            let mut d = redraft();
            d.entering[1].0 += 1;
            let (at, f) = fault(&b.parties, d);
            assert_eq!(at, Some(1));
            assert!(matches!(f, Fault::Nonce { .. }), "{f}");
            // An SCP whose meter attestation fails (the wrong key on record), its proposal
            // signed with that key so that the meters are the first check it fails.
            let mut d = redraft();
            let j = (0..4).find(|&j| Some(j) != d.proposer).unwrap();
            let chain = b.parties.genesis.chain_id.clone();
            let p = &mut d.proposals[j as usize];
            p.sig = sign(&b.parties.ring.evs[0], &p.signed_bytes(&chain, d.height));
            d.proposals_root = proposals_root(&chain, d.height, &d.proposals);
            let mut wrong = b.parties.clone();
            wrong.scp_keys[j as usize] = wrong.ev_keys[0];
            assert_eq!(fault(&wrong, d), (None, sig(&format!("SCP {j} (meters)"))));
            // The auditor's decision rule, applied before the votes.
            let mut d = redraft();
            d.win.revenue += 1;
            let want = Fault::Decision("the header's price is not the proposer's claim".into());
            assert_eq!(fault(&b.parties, d), (None, want));
            // No proposal holds p_d*.
            let mut d = redraft();
            d.proposer = None;
            let (_, f) = fault(&b.parties, d);
            assert!(matches!(f, Fault::Decision(_)), "{f}");
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, 1);
    }

    /// A slot the builder refuses (here: its own EV signature fails the check, the wrong
    /// key on record) changes nothing: the same slot recorded again gives the same ledger.
    #[test]
    fn a_refused_slot_leaves_the_builder_as_it_was() {
        let r = run(4);
        let fresh = LedgerBuilder::fresh(&r).unwrap();
        let (_, want) = simulate_with_ledger(&r, fresh.clone(), |_| Ok(())).unwrap();
        let mut b = fresh;
        let mut refused = 0;
        r.simulate(|o| {
            if o.trades.len() > 1 && refused == 0 {
                let ev = o.trades[1].ev;
                let key = b.parties.ev_keys[ev];
                b.parties.ev_keys[ev] = b.parties.scp_keys[0];
                let e = b.record(o).unwrap_err();
                assert_eq!(e.location.tx, Some(1));
                assert_eq!(e.fault, Fault::Signature(format!("EV wallet {ev}")));
                b.parties.ev_keys[ev] = key;
                refused += 1;
            }
            b.record(o)?;
            Ok(())
        })
        .unwrap();
        assert_eq!(refused, 1);
        assert_eq!(
            crate::ledger::store::write(&b.finish()),
            crate::ledger::store::write(&want)
        );
    }

    #[test]
    fn slots_out_of_order_are_refused() {
        let r = run(4);
        let mut b = LedgerBuilder::fresh(&r).unwrap();
        let mut outcomes = 0;
        r.simulate(|o| {
            if o.record.slot == 1 {
                let e = b.record(o).unwrap_err();
                assert_eq!(
                    e.fault,
                    Fault::Height {
                        expected: 0,
                        got: 1
                    }
                );
                outcomes += 1;
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(outcomes, 1);
    }

    /// A writer that fails once it has taken `left` bytes.
    struct Failing {
        left: usize,
    }

    impl std::io::Write for Failing {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if buf.len() > self.left {
                return Err(std::io::Error::other("disk full"));
            }
            self.left -= buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// `audit::verify_file` (a ledger file and the genesis's bytes) accepts the honest
    /// ledger, pinned or not, and refuses it without its seal.
    #[test]
    fn verify_file_accepts_the_honest_ledger_and_refuses_it_cut() {
        let r = run(4);
        let b = LedgerBuilder::fresh(&r).unwrap();
        let (_, l) = simulate_with_ledger(&r, b, |_| Ok(())).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.jsonl");
        let bytes = crate::ledger::store::write(&l);
        std::fs::write(&path, &bytes).unwrap();
        let genesis = crate::ledger::store::write_genesis(&l.genesis);
        let hash = l.genesis.hash();
        let report = crate::ledger::audit::verify_file(&path, &genesis, Some(&hash)).unwrap();
        assert_eq!(
            (report.blocks, report.pinned),
            (l.blocks.len() as u64, true)
        );
        assert_eq!(report.genesis, hash);
        let report = crate::ledger::audit::verify_file(&path, &genesis, None).unwrap();
        assert_eq!(
            (report.blocks, report.pinned),
            (l.blocks.len() as u64, false)
        );
        let last = bytes[..bytes.len() - 1]
            .iter()
            .rposition(|&c| c == b'\n')
            .unwrap();
        std::fs::write(&path, &bytes[..=last]).unwrap();
        let e = crate::ledger::audit::verify_file(&path, &genesis, Some(&hash)).unwrap_err();
        assert!(e.to_string().contains("without its seal"), "{e}");
    }

    #[test]
    fn streaming_writes_the_same_ledger_and_reports_each_stage_s_error() {
        let r = run(4);
        let b = LedgerBuilder::fresh(&r).unwrap();
        let path = std::path::Path::new("ledger.jsonl");
        // The pipelined stages write exactly the ledger recorded one slot after another.
        let (res, l) = simulate_with_ledger(&r, b.clone(), |_| Ok(())).unwrap();
        let mut bytes = Vec::new();
        let mut seen = Vec::new();
        let (res_s, g) = simulate_streaming(&r, b.clone(), &mut bytes, path, |o| {
            seen.push(o.record.slot);
            Ok(())
        })
        .unwrap();
        assert_eq!(res_s, res);
        assert_eq!(g, l.genesis);
        assert_eq!(bytes, crate::ledger::store::write(&l));
        assert_eq!(seen, (0..6).collect::<Vec<_>>());
        // And with a byzantine SCP, whose blocks take a third round.
        let rb = run_with(4, 1);
        let bb = LedgerBuilder::fresh(&rb).unwrap();
        let (_, lb) = simulate_with_ledger(&rb, bb.clone(), |_| Ok(())).unwrap();
        let mut bytes = Vec::new();
        simulate_streaming(&rb, bb, &mut bytes, path, |_| Ok(())).unwrap();
        assert!(lb.blocks.iter().all(|b| !b.evidence.is_empty()));
        assert_eq!(bytes, crate::ledger::store::write(&lb));
        // The writer fails after the genesis line and a block: an I/O error on the path.
        let first = crate::ledger::store::genesis_line(&l.genesis).len()
            + crate::ledger::store::block_line(&l.blocks[0]).len();
        let mut w = Failing { left: first + 10 };
        let e = simulate_streaming(&r, b.clone(), &mut w, path, |_| Ok(())).unwrap_err();
        assert!(
            matches!(&e, crate::error::Error::Io { .. }) && e.to_string().contains("disk full"),
            "{e}"
        );
        // The observer stops the run: its error, not another.
        let e = simulate_streaming(&r, b.clone(), &mut Vec::new(), path, |o| {
            if o.record.slot == 2 {
                Err(crate::error::Error::Stopped)
            } else {
                Ok(())
            }
        })
        .unwrap_err();
        assert!(matches!(e, crate::error::Error::Stopped), "{e}");
        // The recorder refuses a slot (a builder already past slot 0): its ledger error,
        // not the stop it causes in the simulation.
        let mut ahead = b.clone();
        r.simulate(|o| {
            if o.record.slot == 0 {
                ahead.record(o)?;
            }
            Ok(())
        })
        .unwrap();
        let e = simulate_streaming(&r, ahead, &mut Vec::new(), path, |_| Ok(())).unwrap_err();
        match e {
            crate::error::Error::Ledger(l) => assert_eq!(
                l.fault,
                Fault::Height {
                    expected: 1,
                    got: 0
                }
            ),
            other => panic!("{other}"),
        }
    }
}
