//! RFC 6962 Merkle tree hashing: leaf and node hashes, the tree head, and audit paths, both as pure functions
//! over leaf hashes (the reference) and as an incremental [`Tree`] that keeps complete subtrees so that
//! appends, roots and proofs stay logarithmic. No signing.

use sha2::{Digest as _, Sha256};

/// `SHA-256(0x00 || leaf)`.
#[must_use]
pub fn leaf_hash(leaf: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update([0u8]);
    hasher.update(leaf);
    hasher.finalize().into()
}

/// `SHA-256(0x01 || left || right)`.
#[must_use]
pub fn node_hash(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update([1u8]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// Largest power of two strictly below `n` (n ≥ 2).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// MTH over `leaves` (leaf hashes); the hash of the empty string for an empty tree.
#[must_use]
pub fn root(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// The audit path `PATH(m, D[n])` of RFC 6962 §2.1.1, ordered from the leaf's sibling up to the root's child.
/// Empty when `index` is out of range.
#[must_use]
pub fn inclusion_path(index: usize, leaves: &[[u8; 32]]) -> Vec<[u8; 32]> {
    let n = leaves.len();
    if index >= n || n < 2 {
        return Vec::new();
    }
    let k = split(n);
    let mut path;
    if index < k {
        path = inclusion_path(index, &leaves[..k]);
        path.push(root(&leaves[k..]));
    } else {
        path = inclusion_path(index - k, &leaves[k..]);
        path.push(root(&leaves[..k]));
    }
    path
}

/// An append-only Merkle tree. `levels[k][i]` is the root of the complete subtree of 2^k leaves starting at
/// leaf `i·2^k`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree {
    levels: Vec<Vec<[u8; 32]>>,
}

impl Tree {
    /// An empty tree.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a leaf hash.
    pub fn push(&mut self, leaf_hash: [u8; 32]) {
        let mut hash = leaf_hash;
        let mut level = 0;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            let nodes = &mut self.levels[level];
            nodes.push(hash);
            let n = nodes.len();
            if n % 2 == 1 {
                break;
            }
            hash = node_hash(&nodes[n - 2], &nodes[n - 1]);
            level += 1;
        }
    }

    /// Number of leaves.
    #[must_use]
    pub fn len(&self) -> usize {
        self.levels.first().map_or(0, Vec::len)
    }

    /// Whether the tree has no leaves.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// MTH of the whole tree.
    #[must_use]
    pub fn root(&self) -> [u8; 32] {
        match self.len() {
            0 => Sha256::digest([]).into(),
            n => self.subtree(0, n),
        }
    }

    /// `PATH(index, D[len])`, ordered from the leaf's sibling upwards; empty when `index` is out of range.
    #[must_use]
    pub fn inclusion_path(&self, index: usize) -> Vec<[u8; 32]> {
        let mut path = Vec::new();
        if index < self.len() {
            self.path(index, 0, self.len(), &mut path);
        }
        path
    }

    /// `MTH(D[start:start+size])` for `size ≥ 1` within the tree.
    fn subtree(&self, start: usize, size: usize) -> [u8; 32] {
        if size.is_power_of_two() && start.is_multiple_of(size) {
            let level = size.trailing_zeros() as usize;
            return self.levels[level][start / size];
        }
        let k = split(size);
        node_hash(&self.subtree(start, k), &self.subtree(start + k, size - k))
    }

    fn path(&self, index: usize, start: usize, size: usize, out: &mut Vec<[u8; 32]>) {
        if size < 2 {
            return;
        }
        let k = split(size);
        if index < k {
            self.path(index, start, k, out);
            out.push(self.subtree(start + k, size - k));
        } else {
            self.path(index - k, start + k, size - k, out);
            out.push(self.subtree(start, k));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_match_rfc6962_reference_vectors() {
        // Test vectors from certificate-transparency-go / transparency-dev merkle (inputs "", 0x00, 0x10, ...).
        let inputs: [&[u8]; 8] = [
            b"",
            &[0x00],
            &[0x10],
            &[0x20, 0x21],
            &[0x30, 0x31],
            &[0x40, 0x41, 0x42, 0x43],
            &[0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
            &[0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f],
        ];
        let expected = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let leaves: Vec<[u8; 32]> = inputs.iter().map(|i| leaf_hash(i)).collect();
        for (n, want) in expected.iter().enumerate() {
            assert_eq!(hex::encode(root(&leaves[..=n])), *want, "tree size {}", n + 1);
        }
        assert_eq!(hex::encode(root(&[])), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[test]
    fn audit_paths_match_reference_vectors() {
        let inputs: [&[u8]; 8] = [
            b"",
            &[0x00],
            &[0x10],
            &[0x20, 0x21],
            &[0x30, 0x31],
            &[0x40, 0x41, 0x42, 0x43],
            &[0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
            &[0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f],
        ];
        let leaves: Vec<[u8; 32]> = inputs.iter().map(|i| leaf_hash(i)).collect();
        let hexes = |path: Vec<[u8; 32]>| path.into_iter().map(hex::encode).collect::<Vec<_>>();
        assert_eq!(
            hexes(inclusion_path(0, &leaves)),
            [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ]
        );
        assert_eq!(
            hexes(inclusion_path(5, &leaves)),
            [
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ]
        );
        assert_eq!(
            hexes(inclusion_path(2, &leaves[..3])),
            ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]
        );
    }

    #[test]
    fn incremental_tree_agrees_with_the_reference_functions() {
        let mut tree = Tree::new();
        let mut leaves = Vec::new();
        assert_eq!(tree.root(), root(&leaves));
        for i in 0..70u32 {
            let leaf = leaf_hash(&i.to_be_bytes());
            tree.push(leaf);
            leaves.push(leaf);
            assert_eq!(tree.root(), root(&leaves), "size {}", leaves.len());
            for index in 0..leaves.len() {
                assert_eq!(
                    tree.inclusion_path(index),
                    inclusion_path(index, &leaves),
                    "size {} index {index}",
                    leaves.len()
                );
            }
        }
        assert!(tree.inclusion_path(70).is_empty());
    }
}
