//! The Merkle tree of a block's transactions, exactly RFC 6962's (Certificate
//! Transparency) Merkle Tree Hash: leaves are hashed as `SHA-256(0x00 ‖ leaf)`, interior
//! nodes as `SHA-256(0x01 ‖ left ‖ right)`, an empty tree is `SHA-256("")`, and a tree of
//! `n` leaves splits at the largest power of two below `n`.
//!
//! The distinct prefixes mean a leaf can never pose as an interior node, and an odd node
//! is promoted rather than duplicated, so Bitcoin's duplicated-leaf flaw (CVE-2012-2459:
//! two different lists with one root) cannot occur. Inclusion proofs are RFC 6962's audit
//! paths, verified with RFC 9162's algorithm (section 2.1.3.2).
//!
//! Built bottom-up, pairing nodes level by level and promoting an unpaired last node,
//! the tree is the same as RFC 6962's recursive definition; the tests check the published
//! test vectors.

use sha2::{Digest, Sha256};

use crate::ledger::units::{Bytes, Hash};

/// `SHA-256(0x00 ‖ leaf)`.
pub fn leaf_hash(leaf: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(leaf);
    Bytes(h.finalize().into())
}

/// `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left.0);
    h.update(right.0);
    Bytes(h.finalize().into())
}

/// A Merkle tree over leaf hashes, every level kept for inclusion proofs.
#[derive(Debug, Clone)]
pub struct Tree {
    levels: Vec<Vec<Hash>>,
}

impl Tree {
    /// Builds the tree over already hashed leaves.
    pub fn new(leaves: Vec<Hash>) -> Self {
        let mut levels = vec![leaves];
        while levels.last().is_some_and(|l| l.len() > 1) {
            let below = levels.last().expect("non-empty");
            let up = below
                .chunks(2)
                .map(|p| match p {
                    [l, r] => node_hash(l, r),
                    [one] => *one,
                    _ => unreachable!("chunks of two"),
                })
                .collect();
            levels.push(up);
        }
        Tree { levels }
    }

    /// Number of leaves.
    pub fn len(&self) -> usize {
        self.levels[0].len()
    }

    /// Whether the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The Merkle Tree Hash (`SHA-256("")` for no leaves).
    pub fn root(&self) -> Hash {
        match self.levels.last().and_then(|l| l.first()) {
            Some(r) => *r,
            None => Bytes(Sha256::digest([]).into()),
        }
    }

    /// The audit path of leaf `index` (RFC 6962 `PATH`), from the leaf's sibling upwards;
    /// `None` when out of range.
    pub fn proof(&self, index: usize) -> Option<Vec<Hash>> {
        if index >= self.len() {
            return None;
        }
        let mut i = index;
        let mut path = Vec::new();
        for level in &self.levels[..self.levels.len() - 1] {
            let sib = i ^ 1;
            if sib < level.len() {
                path.push(level[sib]);
            }
            i >>= 1;
        }
        Some(path)
    }
}

/// The root of a list of leaf hashes: RFC 6962's `MTH`, whose recursive split at the
/// largest power of two below `n` lets the two halves of a long list be hashed side by
/// side (rayon); the same root as [`Tree::root`].
pub fn root(leaves: Vec<Hash>) -> Hash {
    if leaves.len() < SIDE_BY_SIDE {
        // Short lists (most of them: meter readings, proposals, evidence) without a copy.
        return Tree::new(leaves).root();
    }
    root_of(&leaves, SIDE_BY_SIDE)
}

/// Below this many leaves a tree is hashed on one thread.
const SIDE_BY_SIDE: usize = 256;

/// `MTH` of `leaves`, split in two (`k` the largest power of two below `n`) down to
/// lists shorter than `min` (at least 2), which are hashed bottom-up.
fn root_of(leaves: &[Hash], min: usize) -> Hash {
    let n = leaves.len();
    if n < min.max(2) {
        return Tree::new(leaves.to_vec()).root();
    }
    // The largest power of two below n: the highest bit of n - 1.
    let k = 1 << (usize::BITS - 1 - (n - 1).leading_zeros());
    let (left, right) = rayon::join(|| root_of(&leaves[..k], min), || root_of(&leaves[k..], min));
    node_hash(&left, &right)
}

/// The root an inclusion proof leads to (RFC 9162 section 2.1.3.2), or `None` when the
/// proof cannot belong to a tree of `size` leaves (wrong length, index out of range).
pub fn root_from_proof(index: u64, size: u64, leaf: &Hash, proof: &[Hash]) -> Option<Hash> {
    if index >= size {
        return None;
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return None;
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    (s == 0).then_some(r)
}

/// Whether `proof` shows the leaf hash at `index` in the tree of `size` leaves with
/// `root`.
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> bool {
    root_from_proof(index, size, leaf, proof).is_some_and(|r| r == *root)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Hash {
        Hash::from_hex(s).unwrap()
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 6962 / certificate-transparency reference leaves.
    const LEAVES: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];
    /// Published roots for sizes 0..=8.
    const ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn leaves(n: usize) -> Vec<Hash> {
        LEAVES[..n].iter().map(|l| leaf_hash(&unhex(l))).collect()
    }

    #[test]
    fn the_split_root_is_the_tree_s_root() {
        // Split all the way down: the published roots.
        for (n, want) in ROOTS.iter().enumerate() {
            assert_eq!(root_of(&leaves(n), 2), h(want), "{n} leaves");
        }
        // Sizes around the threshold, its powers of two and odd ones, split at several
        // depths: the bottom-up tree's root.
        for n in [
            0, 1, 2, 3, 5, 255, 256, 257, 511, 512, 513, 700, 1024, 1025, 3000,
        ] {
            let l: Vec<Hash> = (0..n as u64).map(|i| leaf_hash(&i.to_le_bytes())).collect();
            let want = Tree::new(l.clone()).root();
            assert_eq!(root(l.clone()), want, "{n} leaves");
            for min in [2, 3, 64] {
                assert_eq!(root_of(&l, min), want, "{n} leaves split below {min}");
            }
        }
    }

    #[test]
    fn roots_match_rfc6962_test_vectors() {
        for (n, want) in ROOTS.iter().enumerate() {
            assert_eq!(root(leaves(n)), h(want), "size {n}");
        }
    }

    #[test]
    fn inclusion_proofs_match_published_paths() {
        let t = Tree::new(leaves(8));
        let p0 = vec![
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ];
        let p5 = vec![
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ];
        assert_eq!(t.proof(0).unwrap(), p0);
        assert_eq!(t.proof(5).unwrap(), p5);
        let l = leaves(8);
        assert!(verify_inclusion(0, 8, &l[0], &p0, &t.root()));
        assert!(verify_inclusion(5, 8, &l[5], &p5, &t.root()));
    }

    /// Every proof of every tree size up to 40 verifies; the attack cases of
    /// transparency-dev/merkle's inclusion test data all fail: wrong leaf, modified
    /// proof, index ± 1, trailing garbage, a component inserted or removed.
    #[test]
    fn proofs_verify_and_tampered_ones_do_not() {
        for n in 1..=40usize {
            let ls: Vec<Hash> = (0..n as u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
            let t = Tree::new(ls.clone());
            let r = t.root();
            for (i, leaf) in ls.iter().enumerate() {
                let p = t.proof(i).unwrap();
                let (iu, nu) = (i as u64, n as u64);
                assert!(verify_inclusion(iu, nu, leaf, &p, &r), "n {n} i {i}");
                let other = leaf_hash(b"x");
                assert!(!verify_inclusion(iu, nu, &other, &p, &r));
                if i + 1 < n {
                    assert!(!verify_inclusion(iu + 1, nu, leaf, &p, &r));
                }
                if i > 0 {
                    assert!(!verify_inclusion(iu - 1, nu, leaf, &p, &r));
                }
                let mut longer = p.clone();
                longer.push(other);
                assert!(!verify_inclusion(iu, nu, leaf, &longer, &r));
                let mut front = p.clone();
                front.insert(0, other);
                assert!(!verify_inclusion(iu, nu, leaf, &front, &r));
                if !p.is_empty() {
                    let mut shorter = p.clone();
                    shorter.pop();
                    assert!(!verify_inclusion(iu, nu, leaf, &shorter, &r));
                    for j in 0..p.len() {
                        let mut m = p.clone();
                        m[j].0[0] ^= 1;
                        assert!(!verify_inclusion(iu, nu, leaf, &m, &r));
                    }
                }
            }
            assert!(t.proof(n).is_none());
            assert!(!verify_inclusion(n as u64, n as u64, &ls[0], &[], &r));
        }
    }

    /// CVE-2012-2459: with duplicated odd leaves, [a, b, c] and [a, b, c, c] share a root.
    /// Here they do not, and an interior node cannot pass as a leaf.
    #[test]
    fn no_duplicate_leaf_or_second_preimage_confusion() {
        let l = leaves(3);
        let mut dup = l.clone();
        dup.push(l[2]);
        assert_ne!(root(l.clone()), root(dup));
        let two = root(l[..2].to_vec());
        // The node over leaves 0 and 1, presented as a leaf of a one-leaf tree.
        assert_ne!(root(vec![leaf_hash(&[l[0].0, l[1].0].concat())]), two);
    }
}
