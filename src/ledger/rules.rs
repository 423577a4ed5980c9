//! The ledger's rules, written once: what a block's content must be, given the slot's
//! outcome. The block builder ([`crate::ledger::record`]) makes its content with these
//! functions before it signs; the auditor ([`crate::ledger::audit`]) replays the slot from
//! the genesis and the signed oracle data and compares every block with what these
//! functions give, so that no decision rests on a proposer's word.
//!
//! * [`claim_of`]: an SCP worker's honest claim (step 4), in integers; [`false_claim`]:
//!   a byzantine SCP's; [`equivocation_header`]: the other header a byzantine SCP
//!   prevotes for; [`honest_voters`]: who signs the precommits and the seal;
//! * [`unsigned_txs`]: every plugged EV's transaction (steps 2, 5): terms, nonce, balance,
//!   the EV's state entering the slot;
//! * [`check_decision`]: what the proposals and the header's `p_d*` must satisfy (step 4:
//!   the validators' check before they vote, and the auditor's);
//! * [`check_tx`]: what a signed transaction must satisfy given the wallet's last nonce
//!   and balance (the validators' check before they vote, and the auditor's);
//! * [`slot_accounts`]: the money of the slot between the EVA and the grid operator, so
//!   that wallets, EVA and operator always sum to zero.

use crate::game::follower::Regime;
use crate::game::search::Best;
use crate::ledger::block::Header;
use crate::ledger::consensus::{Claim, Proposal};
use crate::ledger::oracle::OracleMsg;
use crate::ledger::tx::Tx;
use crate::ledger::units::{micro, Bytes};
use crate::ledger::Fault;
use crate::settlement::Trade;

/// An SCP worker's claim for a best candidate, in integers (`k`, µCNY/kWh, µCNY).
pub fn claim_of(b: &Best) -> Claim {
    Claim {
        k: b.k as u64,
        p_d: micro(b.p_d),
        revenue: micro(b.revenue.total),
    }
}

/// The decision of step 4 as recorded: what the proposals (in worker order, with the
/// validators' verdicts) and the header's `p_d*`, `R` and proposer must satisfy.
///
/// The sub-ranges are contiguous from 0; each accepted claim lies inside its sub-range and
/// earns no more than `R`; `p_d*` lies in the proposer's sub-range and inside the oracle's
/// range. When the proposer's claim was accepted, the header carries exactly that claim.
/// When it was refuted (a byzantine SCP held the best price's sub-range), the validators
/// re-derived that sub-range themselves, so the header carries their claim, which can be
/// anything but the refuted one; the replay of step 7 checks it against the scheme's
/// search, as it checks every verdict.
pub fn check_decision(h: &Header, ps: &[Proposal], oracle: &OracleMsg) -> Result<(), Fault> {
    let bad = |s: &str| Err(Fault::Decision(s.into()));
    if ps.is_empty() {
        return bad("no proposals");
    }
    let mut next = 0u64;
    let mut last_worker: Option<u32> = None;
    for p in ps {
        if last_worker.is_some_and(|w| p.worker <= w) {
            return bad("proposals are not in worker order");
        }
        last_worker = Some(p.worker);
        if p.lo != next || p.hi < p.lo {
            return bad("sub-ranges are not contiguous from 0");
        }
        next = p.hi;
        if !p.faulty {
            // A sub-range may hold no best when the sites' limits allow none of its
            // candidates (docs/model.md §9.3); the replay re-derives each.
            match p.best {
                Some(_) if p.lo == p.hi => return bad("a best in an empty sub-range"),
                Some(c) if !(p.lo..p.hi).contains(&c.k) => {
                    return bad("an accepted best outside its sub-range")
                }
                Some(c) if c.revenue > h.revenue => {
                    return bad("an accepted proposal beats the chosen price")
                }
                _ => {}
            }
        }
    }
    let Some(win) = ps.iter().find(|p| p.worker == h.proposer) else {
        return bad("the proposer made no proposal");
    };
    if !(win.lo..win.hi).contains(&h.k) {
        return bad("p_d* is not in the proposer's sub-range");
    }
    let chosen = Claim {
        k: h.k,
        p_d: h.p_d,
        revenue: h.revenue,
    };
    match (win.faulty, win.best) {
        (false, Some(c)) if c == chosen => {}
        (false, _) => return bad("the header's price is not the proposer's claim"),
        (true, Some(c)) if c == chosen => return bad("the header's price is a refuted claim"),
        (true, _) => {}
    }
    if h.p_d < oracle.p_d_min || h.p_d > oracle.p_d_max {
        return bad("p_d* outside the oracle's range");
    }
    Ok(())
}

/// A byzantine worker's report (`--byzantine F`, the last `F` SCPs): another candidate of
/// its sub-range (or the same one when it has only one) with its revenue inflated by 1
/// CNY, so that it would win if believed. The builder signs it as that SCP's proposal; the
/// replay re-derives it, so a refuted claim can be neither replaced by another false claim
/// nor relabelled honest. It always differs from the honest claim `own` (its revenue does).
pub fn false_claim(
    game: &crate::game::search::SlotGame,
    range: &std::ops::Range<usize>,
    own: Option<Claim>,
) -> Claim {
    match own {
        Some(c) => {
            let k = if c.k as usize != range.start {
                range.start
            } else {
                range.end - 1
            };
            Claim {
                k: k as u64,
                p_d: micro(game.grid.price(k)),
                revenue: c.revenue.saturating_add(1_000_000),
            }
        }
        None => Claim {
            k: range.start as u64,
            p_d: micro(game.prices.p_d_max),
            revenue: 1_000_000,
        },
    }
}

/// The header a byzantine SCP prevotes for besides the right one `h`: the same header with
/// `p_d*` lowered by 0.001 CNY/kWh and `R` raised by 1 CNY. Its prevote hash is the second
/// hash of the SCP's equivocation evidence, which the auditor recomputes with this rule.
pub fn equivocation_header(h: &Header) -> Header {
    let mut wrong = h.clone();
    wrong.p_d = wrong.p_d.saturating_sub(1_000);
    wrong.revenue = wrong.revenue.saturating_add(1_000_000);
    wrong
}

/// The SCPs that sign a block's precommits and the seal: every SCP that is not byzantine,
/// in SCP order (a byzantine SCP equivocates at every height, so its votes never count).
pub fn honest_voters(byzantine: &[bool]) -> Vec<u32> {
    (0..byzantine.len() as u32)
        .filter(|&j| !byzantine[j as usize])
        .collect()
}

/// The SCP an EV is plugged into: EV `i` at SCP `i mod n`.
pub fn scp_of(ev: usize, n_scps: usize) -> usize {
    ev % n_scps
}

/// The slot's transactions, unsigned, in fleet order: each trade's terms
/// ([`Tx::terms`]) at the oracle's `p_c` and the block's `p_d*`, with the wallet's next
/// nonce and its balance after the trade. `wallet[i]` is session `i`'s wallet
/// ([`crate::data::fleet::wallet_index`]): `nonces` and `balances` are kept at that index,
/// so they carry over between an EV's sessions.
pub fn unsigned_txs(
    trades: &[Trade],
    n_scps: usize,
    p_c: i64,
    p_d: i64,
    wallet: &[usize],
    nonces: &[u64],
    balances: &[i64],
) -> Vec<Tx> {
    trades
        .iter()
        .map(|t| {
            let w = wallet[t.ev];
            Tx::terms(
                t,
                t.ev as u32,
                scp_of(t.ev, n_scps) as u32,
                p_c,
                p_d,
                balances[w],
                nonces[w] + 1,
            )
        })
        .collect()
}

/// What a block's transactions are checked against: the SCP count and the slot's prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxContext {
    /// SCPs in the validator set (EV `i` is plugged into SCP `i mod n`).
    pub n_scps: usize,
    /// The oracle's charging price `p_rt + W_service`, µCNY/kWh.
    pub p_c: i64,
    /// The block's `p_d*`, µCNY/kWh.
    pub p_d: i64,
    /// `p_delay` of the genesis record, µCNY.
    pub p_delay: i64,
}

/// The rules of one signed transaction given its wallet's last nonce and balance: the EV
/// is plugged into the named SCP, the nonce is exactly one more than the last (a replay
/// or a gap is refused), the balance is the last minus the amount, and the terms fit
/// the meter, the prices and `p_delay` ([`Tx::check_terms`]). The block builder checks
/// every transaction with it before the SCPs vote; the auditor checks every recorded one.
pub fn check_tx(tx: &Tx, last_nonce: u64, last_balance: i64, cx: &TxContext) -> Result<(), Fault> {
    if cx.n_scps == 0 || tx.scp as usize != scp_of(tx.ev as usize, cx.n_scps) {
        return Err(Fault::Terms(format!(
            "EV {} is not plugged into SCP {}",
            tx.ev, tx.scp
        )));
    }
    let expected = last_nonce.wrapping_add(1);
    if tx.nonce != expected {
        return Err(Fault::Nonce {
            ev: tx.ev,
            expected,
            got: tx.nonce,
        });
    }
    let Some(want) = last_balance.checked_sub(tx.amount) else {
        return Err(Fault::Overflow(format!(
            "EV {}: balance {last_balance} − amount {} µCNY",
            tx.ev, tx.amount
        )));
    };
    if want != tx.balance {
        return Err(Fault::Balance {
            ev: tx.ev,
            expected: want,
            got: tx.balance,
        });
    }
    tx.check_terms(cx.p_c, cx.p_d, cx.p_delay)
}

/// `round(price × energy_wh / 1000)`, half away from zero, in µCNY; `None` out of the
/// `i64` range.
fn value(price: i64, energy_wh: i64) -> Option<i64> {
    let v = i128::from(price) * i128::from(energy_wh);
    let r = if v >= 0 {
        (v + 500) / 1000
    } else {
        (v - 500) / 1000
    };
    i64::try_from(r).ok()
}

/// The slot's money between the parties (docs/model.md §5), in µCNY: the EVA's and the
/// operator's accounts after the slot, from theirs before it (`accounts`). The EVs pay
/// the EVA their `amount`s; the EVA buys the charged energy from the operator at `p_rt`;
/// the operator pays the EVA `W_grid` for the discharged energy; the EVA pays the
/// operator `C_limit`. So the EVs' changes (`−amount`), the EVA's and the operator's
/// always sum to zero. `None` when a sum leaves the `i64` range (the builder then refuses
/// the slot and the auditor the block, [`Fault::Overflow`]).
pub fn slot_accounts<'a>(
    accounts: (i64, i64),
    txs: impl IntoIterator<Item = &'a Tx>,
    oracle: &OracleMsg,
    w_grid: i64,
    c_limit: i64,
) -> Option<(i64, i64)> {
    let mut from_evs = 0i64;
    let mut bought = 0i64;
    let mut v2g = 0i64;
    for t in txs {
        from_evs = from_evs.checked_add(t.amount)?;
        match t.regime {
            Regime::Charge => bought = bought.checked_add(value(oracle.p_rt, t.energy_wh)?)?,
            Regime::Discharge => {
                v2g = v2g.checked_add(value(w_grid, t.energy_wh.checked_neg()?)?)?
            }
            Regime::Idle => {}
        }
    }
    let operator = bought.checked_sub(v2g)?.checked_add(c_limit)?;
    let eva = from_evs.checked_sub(operator)?;
    Some((
        accounts.0.checked_add(eva)?,
        accounts.1.checked_add(operator)?,
    ))
}

/// [`Fault::Overflow`] for a slot whose accounts [`slot_accounts`] cannot hold.
pub fn accounts_overflow() -> Fault {
    Fault::Overflow("the EVA's or the grid operator's account".into())
}

/// A transaction with its signatures blanked: what the rules determine.
pub fn unsigned(tx: &Tx) -> Tx {
    Tx {
        ev_sig: Bytes([0; 64]),
        ..tx.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byzantine rule's claim: another candidate of the sub-range (its first, or its
    /// last when the honest best is the first), at that candidate's price, with the
    /// honest revenue plus 1 CNY. The builder and the replay share this rule, so only a
    /// test of the rule itself pins it.
    #[test]
    fn a_false_claim_is_the_other_end_of_the_range_one_cny_richer() {
        let g = crate::game::testing::game(1.12, 20.0, &[(0.5, 60.0, 0.16, -0.01)], 0.001);
        let range = 10..20;
        let at = |k: usize, revenue: i64| Claim {
            k: k as u64,
            p_d: micro(g.grid.price(k)),
            revenue,
        };
        assert_eq!(false_claim(&g, &range, Some(at(13, 5))), at(10, 1_000_005));
        assert_eq!(false_claim(&g, &range, Some(at(10, 5))), at(19, 1_000_005));
        assert_eq!(false_claim(&g, &(7..8), Some(at(7, -3))), at(7, 999_997));
    }

    fn tx(regime: Regime, energy_wh: i64, amount: i64) -> Tx {
        Tx {
            slot: 0,
            ev: 0,
            scp: 0,
            regime,
            x_ppm: 0,
            energy_wh,
            unit_price: 0,
            amount,
            balance: 0,
            nonce: 1,
            energy_before_kwh: 0.0,
            meter_wh: energy_wh,
            ev_sig: Bytes([1; 64]),
        }
    }

    fn oracle() -> OracleMsg {
        OracleMsg {
            slot: 0,
            p_rt: 1_120_000,
            p_d_min: -3_360_000,
            p_d_max: 0,
            e_limit_wh: 10_000,
            w_service: 500_000,
            p_rt_exact: 1.12,
            e_limit_kwh: 10.0,
            sig: Bytes([0; 64]),
        }
    }

    fn claim(k: u64, revenue: i64) -> Claim {
        Claim {
            k,
            p_d: -(k as i64) * 10_000,
            revenue,
        }
    }

    fn prop(worker: u32, lo: u64, hi: u64, best: Option<Claim>, faulty: bool) -> Proposal {
        Proposal {
            worker,
            lo,
            hi,
            best,
            sig: Bytes([0; 64]),
            faulty,
        }
    }

    fn header(c: Claim, proposer: u32) -> Header {
        Header {
            height: 0,
            prev_hash: Bytes([0; 32]),
            last_commit: Bytes([0; 32]),
            tx_root: Bytes([0; 32]),
            tx_count: 0,
            oracle_hash: Bytes([0; 32]),
            proposals_root: Bytes([0; 32]),
            k: c.k,
            p_d: c.p_d,
            revenue: c.revenue,
            proposer,
            eva_balance: 0,
            operator_balance: 0,
            evidence_root: Bytes([0; 32]),
        }
    }

    #[test]
    fn the_decision_rests_on_the_proposers_claim_or_on_the_validators_when_refuted() {
        let o = oracle();
        let decided = |h: &Header, ps: &[Proposal]| check_decision(h, ps, &o);
        let refused = |h: &Header, ps: &[Proposal], why: &str| {
            assert_eq!(
                decided(h, ps),
                Err(Fault::Decision(why.into())),
                "{h:?} {ps:?}"
            )
        };
        let best = claim(12, 900);
        // Three workers over 0..30; the best price lies in worker 1's sub-range.
        let ps = vec![
            prop(0, 0, 10, Some(claim(3, 500)), false),
            prop(1, 10, 20, Some(best), false),
            prop(2, 20, 30, Some(claim(25, 900)), false),
        ];
        let h = header(best, 1);
        assert_eq!(decided(&h, &ps), Ok(()));
        // A tie in revenue with another accepted claim is no beating claim.
        refused(
            &header(best, 0),
            &ps,
            "p_d* is not in the proposer's sub-range",
        );
        refused(&header(best, 7), &ps, "the proposer made no proposal");
        refused(
            &header(claim(13, 900), 1),
            &ps,
            "the header's price is not the proposer's claim",
        );
        refused(&h, &[], "no proposals");
        let mut w = ps.clone();
        (w[0].worker, w[1].worker) = (1, 0);
        refused(&h, &w, "proposals are not in worker order");
        let mut w = ps.clone();
        w[1].worker = 0;
        refused(&h, &w, "proposals are not in worker order");
        let mut w = ps.clone();
        w[1].lo = 11;
        refused(&h, &w, "sub-ranges are not contiguous from 0");
        let mut w = ps.clone();
        w[0].lo = 1;
        refused(&h, &w, "sub-ranges are not contiguous from 0");
        let mut w = ps.clone();
        w[2].hi = 19;
        refused(&h, &w, "sub-ranges are not contiguous from 0");
        // A sub-range without a best: the sites' limits may allow none of its candidates
        // (docs/model.md §9.3); the rule leaves it to the replay, which re-derives it.
        let mut w = ps.clone();
        w[0].best = None;
        assert_eq!(decided(&h, &w), Ok(()));
        let mut w = ps.clone();
        w.push(prop(3, 30, 30, Some(claim(30, 1)), false));
        refused(&h, &w, "a best in an empty sub-range");
        let mut w = ps.clone();
        w.push(prop(3, 30, 30, None, false));
        assert_eq!(decided(&h, &w), Ok(()));
        let mut w = ps.clone();
        w[0].best = Some(claim(10, 1));
        refused(&h, &w, "an accepted best outside its sub-range");
        let mut w = ps.clone();
        w[2].best = Some(claim(25, 901));
        refused(&h, &w, "an accepted proposal beats the chosen price");
        // A refuted claim is not held against the decision, even when it claims more.
        w[2].faulty = true;
        assert_eq!(decided(&h, &w), Ok(()));
        w[2].best = Some(claim(40, 901));
        assert_eq!(decided(&h, &w), Ok(()));
        // The proposer refuted (a byzantine SCP held the best sub-range): the header
        // carries the validators' claim, never the refuted one.
        let mut w = ps.clone();
        w[1].faulty = true;
        w[1].best = Some(claim(10, 5_000));
        assert_eq!(decided(&h, &w), Ok(()));
        refused(
            &header(claim(10, 5_000), 1),
            &w,
            "the header's price is a refuted claim",
        );
        w[1].best = None;
        assert_eq!(decided(&h, &w), Ok(()));
        refused(
            &header(best, 0),
            &w,
            "p_d* is not in the proposer's sub-range",
        );
        refused(
            &header(claim(20, 900), 1),
            &w,
            "p_d* is not in the proposer's sub-range",
        );
        // The oracle's range, both ends included.
        let edge = |p_d: i64| {
            let mut h = h.clone();
            h.p_d = p_d;
            let mut w = ps.clone();
            w[1].best = Some(Claim { p_d, ..best });
            decided(&h, &w)
        };
        assert_eq!(edge(o.p_d_min), Ok(()));
        assert_eq!(edge(o.p_d_max), Ok(()));
        assert_eq!(
            edge(o.p_d_min - 1),
            Err(Fault::Decision("p_d* outside the oracle's range".into()))
        );
        assert_eq!(
            edge(o.p_d_max + 1),
            Err(Fault::Decision("p_d* outside the oracle's range".into()))
        );
    }

    #[test]
    fn money_is_conserved_between_wallets_eva_and_operator() {
        let oracle = oracle();
        let txs = [
            tx(Regime::Charge, 3_750, 6_075_000),
            tx(Regime::Discharge, -2_001, -600_300),
            tx(Regime::Idle, 0, -100_000),
        ];
        let (eva, op) = slot_accounts((0, 0), &txs, &oracle, 792_000, 1_234).unwrap();
        let evs: i64 = txs.iter().map(|t| -t.amount).sum();
        assert_eq!(evs + eva + op, 0);
        // The operator: 1.12 × 3.75 kWh bought, 0.792 × 2.001 kWh paid, C_limit received.
        assert_eq!(op, 4_200_000 - 1_584_792 + 1_234);
        // Carried over from the accounts before the slot.
        let after = slot_accounts((10, -20), &txs, &oracle, 792_000, 1_234);
        assert_eq!(after, Some((eva + 10, op - 20)));
        assert_eq!(value(792_000, -2_001), Some(-1_584_792));
        assert_eq!(value(1, 500), Some(1));
        assert_eq!(value(1, -500), Some(-1));
        assert_eq!(value(1, 499), Some(0));
        assert_eq!(value(i64::MAX, 1000), Some(i64::MAX));
        assert_eq!(value(i64::MAX, 1001), None);
        assert_eq!(value(i64::MAX, -1001), None);
        // Out of the i64 range anywhere: no accounts, never a saturated or wrapped sum.
        let near = i64::MAX - 1_000_000;
        assert_eq!(
            slot_accounts((0, near), &txs, &oracle, 792_000, 1_234),
            None
        );
        assert_eq!(
            slot_accounts((near, 0), &txs, &oracle, 792_000, 1_234),
            None
        );
        assert_eq!(
            slot_accounts((0, 0), &txs, &oracle, 792_000, i64::MAX),
            None
        );
        let mut big = txs.clone();
        big[1].amount = i64::MAX;
        assert_eq!(slot_accounts((0, 0), &big, &oracle, 792_000, 0), None);
        let mut big = txs.clone();
        big[0].energy_wh = i64::MAX / 1_000;
        assert_eq!(slot_accounts((0, 0), &big, &oracle, 792_000, 0), None);
        let mut big = txs.clone();
        big[1].energy_wh = i64::MIN;
        assert_eq!(slot_accounts((0, 0), &big, &oracle, 792_000, 0), None);
        assert_eq!(unsigned(&txs[0]).ev_sig, Bytes([0; 64]));
    }

    #[test]
    fn check_tx_refuses_the_wrong_scp_nonce_balance_and_terms() {
        let cx = TxContext {
            n_scps: 3,
            p_c: 1_000_000,
            p_d: -500_000,
            p_delay: 100_000,
        };
        let mut t = tx(Regime::Idle, 0, -100_000);
        t.ev = 4;
        t.scp = 1;
        t.nonce = 8;
        t.balance = 100_050;
        assert_eq!(check_tx(&t, 7, 50, &cx), Ok(()));
        let mut w = t.clone();
        w.scp = 2;
        assert!(matches!(check_tx(&w, 7, 50, &cx), Err(Fault::Terms(_))));
        assert!(matches!(
            check_tx(&t, 7, 50, &TxContext { n_scps: 0, ..cx }),
            Err(Fault::Terms(_))
        ));
        assert_eq!(
            check_tx(&t, 8, 50, &cx),
            Err(Fault::Nonce {
                ev: 4,
                expected: 9,
                got: 8
            })
        );
        assert_eq!(
            check_tx(&t, 6, 50, &cx),
            Err(Fault::Nonce {
                ev: 4,
                expected: 7,
                got: 8
            })
        );
        assert_eq!(
            check_tx(&t, 7, 51, &cx),
            Err(Fault::Balance {
                ev: 4,
                expected: 100_051,
                got: 100_050
            })
        );
        // A balance the i64 range cannot hold is refused as such, not as a mismatch.
        assert_eq!(
            check_tx(&t, 7, i64::MAX, &cx),
            Err(Fault::Overflow(format!(
                "EV 4: balance {} − amount -100000 µCNY",
                i64::MAX
            )))
        );
        assert!(matches!(
            check_tx(&t, 7, 50, &TxContext { p_delay: 1, ..cx }),
            Err(Fault::Terms(_))
        ));
    }
}
